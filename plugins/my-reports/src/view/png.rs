//! A minimal PNG encoder for the statistics chart: a 2-bit palette image
//! (four colours are all a bar chart needs, so a 640×360 chart is 58 KB),
//! stored (uncompressed) deflate blocks, CRC-32 and Adler-32 by hand — about
//! sixty lines instead of an image crate and its codecs in every build.

/// An image of palette indices (0..=3), row by row.
pub struct Indexed<'a> {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// `width * height` indices into `palette`.
    pub pixels: &'a [u8],
    /// Four RGB colours.
    pub palette: [[u8; 3]; 4],
}

/// The PNG file of `image`.
pub fn encode(image: &Indexed<'_>) -> Vec<u8> {
    let (w, h) = (image.width as usize, image.height as usize);
    let stride = w.div_ceil(4);
    // Each row: filter type 0, then four pixels per byte, the leftmost in the high bits.
    let mut raw = Vec::with_capacity((stride + 1) * h);
    for row in image.pixels.chunks(w).take(h) {
        raw.push(0);
        for four in row.chunks(4) {
            let byte = four.iter().enumerate().fold(0u8, |b, (i, p)| b | ((p & 3) << (6 - 2 * i)));
            raw.push(byte);
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&image.width.to_be_bytes());
    ihdr.extend_from_slice(&image.height.to_be_bytes());
    ihdr.extend_from_slice(&[2, 3, 0, 0, 0]); // 2 bits, palette, deflate, no filter set, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"PLTE", &image.palette.concat());
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored deflate blocks (at most 65,535 bytes each).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks = data.chunks(65_535).collect::<Vec<_>>();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    if blocks.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_their_reference_values() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082, "the CRC every PNG ends with");
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn an_image_encodes_to_chunks_whose_stored_data_gives_its_pixels_back() {
        let pixels: Vec<u8> = (0..5 * 3).map(|i| (i % 4) as u8).collect();
        let image =
            Indexed { width: 5, height: 3, pixels: &pixels, palette: [[255; 3], [0; 3], [1; 3], [2; 3]] };
        let png = encode(&image);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut at = 8;
        let mut idat = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().expect("len")) as usize;
            let body = &png[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().expect("crc"));
            assert_eq!(crc32(body), crc, "chunk {:?}", std::str::from_utf8(&body[..4]));
            if &body[..4] == b"IDAT" {
                idat = body[4..].to_vec();
            }
            at += 12 + len;
        }
        // zlib header, one final stored block, the Adler-32 of the rows.
        assert_eq!(&idat[..3], &[0x78, 0x01, 1]);
        let len = u16::from_le_bytes([idat[3], idat[4]]) as usize;
        let rows = &idat[7..7 + len];
        assert_eq!(rows.len(), 3 * (1 + 2), "a filter byte and two bytes (5 pixels of 2 bits) a row");
        assert_eq!(rows[1], 0b0001_1011, "pixels 0, 1, 2, 3 in the first byte");
        assert_eq!(u32::from_be_bytes(idat[7 + len..].try_into().expect("adler")), adler32(rows));
    }
}

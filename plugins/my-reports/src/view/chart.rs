//! The statistics view's chart: reports per month as bars, the count above
//! each bar and the month (`MM.YY`) under it, in a built-in 3×5 digit font —
//! a photo needs no font files and nothing from the network — drawn on a
//! four-colour canvas and encoded by [`super::png`].

use super::png::{self, Indexed};

const WIDTH: usize = 640;
const HEIGHT: usize = 360;
const LEFT: usize = 24;
const RIGHT: usize = 24;
const TOP: usize = 36;
const BOTTOM: usize = 48;
/// Glyph pixels are drawn this many canvas pixels wide.
const SCALE: usize = 3;

const BACKGROUND: u8 = 0;
const BAR: u8 = 1;
const INK: u8 = 2;
const GRID: u8 = 3;
const PALETTE: [[u8; 3]; 4] = [[255, 255, 255], [66, 133, 244], [33, 33, 33], [224, 224, 224]];

/// 3×5 glyphs, rows top to bottom, three bits each (the high bit leftmost).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b001, 0b001, 0b001],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        _ => return None,
    })
}

/// A canvas of palette indices.
struct Canvas {
    pixels: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        Self { pixels: vec![BACKGROUND; WIDTH * HEIGHT] }
    }

    fn rect(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, colour: u8) {
        for y in y0.min(HEIGHT)..y1.min(HEIGHT) {
            self.pixels[y * WIDTH + x0.min(WIDTH)..y * WIDTH + x1.min(WIDTH)].fill(colour);
        }
    }

    /// The width `text` takes.
    fn text_width(text: &str) -> usize {
        text.chars().count() * 4 * SCALE - SCALE
    }

    /// Draws `text` with its top-left corner at (`x`, `y`); unknown characters are skipped.
    fn text(&mut self, x: usize, y: usize, text: &str) {
        for (i, c) in text.chars().enumerate() {
            let Some(rows) = glyph(c) else { continue };
            let left = x + i * 4 * SCALE;
            for (r, bits) in rows.iter().enumerate() {
                for col in 0..3 {
                    if bits & (0b100 >> col) != 0 {
                        let (px, py) = (left + col * SCALE, y + r * SCALE);
                        self.rect(px, py, px + SCALE, py + SCALE, INK);
                    }
                }
            }
        }
    }
}

/// The PNG of `months` (`(YYYY-MM, reports)`, oldest first): one bar each.
pub fn months(months: &[(String, usize)]) -> Vec<u8> {
    let canvas = draw(months);
    png::encode(&Indexed {
        width: WIDTH as u32,
        height: HEIGHT as u32,
        pixels: &canvas.pixels,
        palette: PALETTE,
    })
}

fn draw(months: &[(String, usize)]) -> Canvas {
    let mut canvas = Canvas::new();
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base = HEIGHT - BOTTOM;
    for quarter in 1..=4 {
        let y = base - plot_h * quarter / 4;
        canvas.rect(LEFT, y, WIDTH - RIGHT, y + 1, GRID);
    }
    canvas.rect(LEFT, base, WIDTH - RIGHT, base + 2, INK);
    let most = months.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let slot = (WIDTH - LEFT - RIGHT) / months.len().max(1);
    for (i, (month, n)) in months.iter().enumerate() {
        let centre = LEFT + slot * i + slot / 2;
        // A lone month gets a bar, not a wall.
        let half = (slot * 7 / 20).clamp(2, 40);
        let height = plot_h * n / most;
        canvas.rect(centre - half, base - height, centre + half, base, BAR);
        let count = n.to_string();
        let y = (base - height).saturating_sub(6 * SCALE).max(TOP - 6 * SCALE);
        canvas.text(centre.saturating_sub(Canvas::text_width(&count) / 2), y, &count);
        // "2025-03" → "03.25"
        let label = match (month.get(5..7), month.get(2..4)) {
            (Some(m), Some(y)) => format!("{m}.{y}"),
            _ => month.clone(),
        };
        canvas.text(centre.saturating_sub(Canvas::text_width(&label) / 2), base + 4 * SCALE, &label);
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_are_drawn_scaled() {
        let mut canvas = Canvas::new();
        canvas.text(0, 0, "1");
        assert_eq!(canvas.pixels[0], BACKGROUND, "the 1's top row is its middle column only");
        assert_eq!(canvas.pixels[SCALE], INK);
        assert_eq!(canvas.pixels[WIDTH * SCALE], INK, "its second row starts left");
    }

    #[test]
    fn bars_are_as_high_as_their_counts_and_labelled() {
        let canvas = draw(&[("2025-01".into(), 2), ("2025-02".into(), 4)]);
        let slot = (WIDTH - LEFT - RIGHT) / 2;
        let at = |x: usize, y: usize| canvas.pixels[y * WIDTH + x];
        let (first, second) = (LEFT + slot / 2, LEFT + slot + slot / 2);
        let base = HEIGHT - BOTTOM;
        let half = base - (HEIGHT - TOP - BOTTOM) / 2;
        assert_eq!(
            (at(first, half + 2), at(first, half - 2)),
            (BAR, BACKGROUND),
            "2 of 4 is half the height"
        );
        assert_eq!(at(second, TOP + 1), BAR, "the most is the full height");
        assert!(
            (base + 4 * SCALE..base + 9 * SCALE).any(|y| (0..WIDTH).any(|x| at(x, y) == INK)),
            "labelled"
        );
        let png = months(&[("2025-01".into(), 2), ("2025-02".into(), 4)]);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().expect("w")), WIDTH as u32);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().expect("h")), HEIGHT as u32);
        assert!(png.len() < 70_000, "a small photo: {} bytes", png.len());
    }
}

//! Decodes a Bot API request body (JSON, multipart, urlencoded or query string)
//! into one parameter map, with typed getters that answer bad input with a 400.

use std::collections::{HashMap, HashSet};

use axum::{
    body::Bytes,
    extract::{FromRequest, Multipart, Query, Request},
    http::{Uri, header::CONTENT_TYPE},
};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, descriptions};

/// The largest body the fake reads: Telegram's 50 MB upload limit plus room
/// for the multipart framing, so a slightly-too-big file still reaches the
/// handler and gets Telegram's JSON 413 instead of a torn connection.
pub(crate) const MAX_BODY: usize = MAX_UPLOAD + 1024 * 1024;

/// Telegram's limit for files a bot uploads.
pub(crate) const MAX_UPLOAD: usize = 50 * 1024 * 1024;

/// Fields whose Bot API type is a string: multipart values for them stay
/// strings even when they look like numbers ("123" as a caption).
const STRING_FIELDS: &[&str] = &[
    "text",
    "caption",
    "parse_mode",
    "callback_query_id",
    "inline_message_id",
    "url",
    "language_code",
    "business_connection_id",
    "message_effect_id",
    "title",
    "description",
    "name",
];

/// A file part of a multipart upload.
#[derive(Clone, Debug)]
pub(crate) struct Upload {
    pub(crate) file_name: String,
    pub(crate) mime_type: Option<String>,
    pub(crate) bytes: Bytes,
}

/// The decoded parameters of one call.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params {
    fields: Map<String, Value>,
    /// File parts by part name (the `<name>` of `attach://<name>`).
    files: HashMap<String, Upload>,
}

impl Params {
    /// Reads the whole request. Errors are Telegram-style, ready to send.
    pub(crate) async fn decode(req: Request) -> ApiResult<Self> {
        let query = query_fields(req.uri())?;
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mut params = if content_type.starts_with("multipart/form-data") {
            Self::multipart(req).await?
        } else {
            let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
                .await
                .map_err(|_| ApiError::new(413, descriptions::REQUEST_ENTITY_TOO_LARGE))?;
            if body.iter().all(u8::is_ascii_whitespace) {
                Self::default()
            } else if content_type.starts_with("application/x-www-form-urlencoded") {
                let uri = Uri::try_from(format!("/?{}", String::from_utf8_lossy(&body)))
                    .map_err(|_| ApiError::bad_request("Bad Request: can't parse form body"))?;
                Self::from_text_fields(query_fields(&uri)?)
            } else {
                // Telegram treats any other body as JSON, whatever the header says.
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(fields)) => Self { fields, files: HashMap::new() },
                    _ => return Err(ApiError::bad_request("Bad Request: can't parse JSON request body")),
                }
            }
        };
        // Body fields win over query fields, as they are the more explicit.
        for (key, value) in Self::from_text_fields(query).fields {
            params.fields.entry(key).or_insert(value);
        }
        Ok(params)
    }

    async fn multipart(req: Request) -> ApiResult<Self> {
        let bad = |_| ApiError::bad_request("Bad Request: can't parse multipart body");
        let mut multipart = Multipart::from_request(req, &())
            .await
            .map_err(|_| ApiError::bad_request("Bad Request: multipart body without a boundary"))?;
        let mut text = Vec::new();
        let mut files = HashMap::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| {
            if e.status().as_u16() == 413 {
                ApiError::new(413, descriptions::REQUEST_ENTITY_TOO_LARGE)
            } else {
                bad(())
            }
        })? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let mime_type = field.content_type().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|_| bad(()))?;
            match file_name {
                Some(file_name) => {
                    files.insert(name, Upload { file_name, mime_type, bytes });
                }
                None => text.push((name, String::from_utf8_lossy(&bytes).into_owned())),
            }
        }
        let mut params = Self::from_text_fields(text);
        params.files = files;
        Ok(params)
    }

    /// Turns text fields into JSON values the way Telegram reads them: objects,
    /// arrays, numbers and booleans are parsed, string-typed fields kept as is.
    fn from_text_fields(fields: Vec<(String, String)>) -> Self {
        let fields = fields
            .into_iter()
            .map(|(key, raw)| {
                let value = if STRING_FIELDS.contains(&key.as_str()) {
                    Value::String(raw)
                } else {
                    serde_json::from_str::<Value>(&raw)
                        .ok()
                        .filter(|v| !v.is_string() && !v.is_null())
                        .unwrap_or(Value::String(raw))
                };
                (key, value)
            })
            .collect();
        Self { fields, files: HashMap::new() }
    }

    /// What the call log records: the fields, with every uploaded file shown
    /// as its name and size instead of its bytes.
    pub(crate) fn into_recorded(self) -> Value {
        let Self { mut fields, files } = self;
        if files.is_empty() {
            return Value::Object(fields);
        }
        let shown = |upload: &Upload| serde_json::json!({ "file_name": upload.file_name, "size": upload.bytes.len() });
        let mut referenced = HashSet::new();
        for (key, value) in &mut fields {
            let part = value.as_str().and_then(|v| v.strip_prefix("attach://"));
            if let Some(part) = part {
                referenced.insert(part.to_owned());
            }
            if let Some(upload) = part.and_then(|part| files.get(part)).or_else(|| files.get(key)) {
                *value = shown(upload);
            }
        }
        for (part, upload) in &files {
            if !referenced.contains(part) && !fields.contains_key(part) {
                fields.insert(part.clone(), shown(upload));
            }
        }
        Value::Object(fields)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.fields.get(key).is_some_and(|v| !v.is_null())
    }

    pub(crate) fn raw(&self, key: &str) -> Option<&Value> {
        self.fields.get(key).filter(|v| !v.is_null())
    }

    /// An optional string; numbers are accepted and printed.
    pub(crate) fn opt_str(&self, key: &str) -> ApiResult<Option<String>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiError::invalid(key)),
        }
    }

    pub(crate) fn opt_i64(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => as_i64(v).map(Some).ok_or_else(|| ApiError::invalid(key)),
        }
    }

    pub(crate) fn opt_bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "1" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" || s == "0" => Ok(Some(false)),
            Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
            Some(_) => Err(ApiError::invalid(key)),
        }
    }

    /// The target chat; `@username` chats do not exist in the fake.
    pub(crate) fn chat_id(&self) -> ApiResult<i64> {
        match self.raw("chat_id") {
            None => Err(ApiError::missing("chat_id")),
            Some(v) => as_i64(v).ok_or_else(|| ApiError::bad_request(descriptions::CHAT_NOT_FOUND)),
        }
    }

    pub(crate) fn message_id(&self) -> ApiResult<i32> {
        let id = self.opt_i64("message_id")?.ok_or_else(|| ApiError::missing("message_id"))?;
        i32::try_from(id).map_err(|_| ApiError::invalid("message_id"))
    }

    /// A list of integers, sent as a JSON array or as its JSON text.
    pub(crate) fn i32_list(&self, key: &str) -> ApiResult<Option<Vec<i32>>> {
        let Some(value) = self.json(key)? else {
            return Ok(None);
        };
        let items = value.as_array().ok_or_else(|| ApiError::invalid(key))?;
        items
            .iter()
            .map(|v| as_i64(v).and_then(|n| i32::try_from(n).ok()).ok_or_else(|| ApiError::invalid(key)))
            .collect::<ApiResult<Vec<_>>>()
            .map(Some)
    }

    /// A structured value, sent inline in JSON or as JSON text (multipart, query).
    pub(crate) fn json(&self, key: &str) -> ApiResult<Option<Value>> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| ApiError::invalid(key)),
            Some(v) => Ok(Some(v.clone())),
        }
    }

    /// The upload an input-file field refers to: `attach://<part>`, or a file
    /// part sent under the field's own name.
    pub(crate) fn upload(&self, key: &str) -> Option<&Upload> {
        if let Some(part) = self.raw(key).and_then(Value::as_str).and_then(|v| v.strip_prefix("attach://")) {
            return self.files.get(part);
        }
        self.files.get(key)
    }
}

/// An integer sent as a JSON number or as decimal text.
pub(crate) fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn query_fields(uri: &Uri) -> ApiResult<Vec<(String, String)>> {
    if uri.query().is_none_or(str::is_empty) {
        return Ok(Vec::new());
    }
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(fields)| fields)
        .map_err(|_| ApiError::bad_request("Bad Request: can't parse query string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(content_type: &str, uri: &str, body: impl Into<Body>) -> Request {
        Request::builder()
            .uri(uri)
            .header(CONTENT_TYPE, content_type)
            .body(body.into())
            .expect("a valid test request")
    }

    #[tokio::test]
    async fn query_and_form_fields_are_typed_like_json() {
        let req = request(
            "application/x-www-form-urlencoded",
            "/botX/sendMessage?chat_id=42",
            "text=123&disable_notification=true&reply_markup=%7B%22inline_keyboard%22%3A%5B%5D%7D",
        );
        let params = Params::decode(req).await.expect("decodes");
        assert_eq!(params.chat_id(), Ok(42));
        assert_eq!(params.opt_str("text"), Ok(Some("123".to_owned())));
        assert_eq!(params.raw("text"), Some(&Value::String("123".to_owned())));
        assert_eq!(params.opt_bool("disable_notification"), Ok(Some(true)));
        assert!(params.json("reply_markup").expect("json").is_some());
    }

    #[tokio::test]
    async fn a_broken_json_body_is_a_400_not_a_panic() {
        let req = request("application/json", "/botX/sendMessage", "{not json");
        let err = Params::decode(req).await.expect_err("refused");
        assert_eq!(err.status, 400);
    }
}

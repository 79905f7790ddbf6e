//! The token endpoint's input: an `Authorization` header (first line) and
//! a form body (the rest), as a stranger may send them.
#![no_main]
use axum::http::{header, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use uma_as::http::{client_credentials, Form};

fuzz_target!(|data: &[u8]| {
    let (authorization, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let Ok(mut form) = Form::parse(body) else { return };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(authorization) {
        headers.insert(header::AUTHORIZATION, value);
    }
    let _ = client_credentials(&headers, &mut form);
    let _ = form.require("grant_type");
    let _ = format!("{form:?}");
});

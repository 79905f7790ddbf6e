//! `registry publish` serves the signed file as a governance body would,
//! and a new edition signed over it is what the next fetch gets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn get(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = TcpStream::connect(host).unwrap();
    write!(stream, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

#[test]
fn the_signed_registry_is_published_as_the_file_holds_it_now() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("registry.jws");
    std::fs::write(&file, "first.edition.signature").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_registry")).arg("publish").arg(&file).stdout(Stdio::piped()).spawn().unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut url).unwrap();
    let url = url.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/registry.jws"), "{url}");
    let (head, body) = get(&url);
    assert!(head.starts_with("HTTP/1.1 200") && head.to_lowercase().contains("content-type: application/jose"), "{head}");
    assert_eq!(body, "first.edition.signature");
    std::fs::write(&file, "second.edition.signature").unwrap();
    assert_eq!(get(&url).1, "second.edition.signature");
    std::fs::write(&file, "-----BEGIN PRIVATE KEY-----\nnot for anyone\n").unwrap();
    let (head, body) = get(&url);
    assert!(head.starts_with("HTTP/1.1 503") && !body.contains("PRIVATE"), "a file that is not a signed registry is not served: {head}");
    child.kill().unwrap();
    child.wait().unwrap();
}

//! A tiny HTTP backend for trying `ingressroute serve` on a laptop: it answers every
//! request with its name, the request line and the headers it saw (so you can see what
//! Envoy adds, e.g. `x-envoy-original-path` after a prefix rewrite).
//!
//! ```sh
//! cargo run -q -p ingressroute-cli --example backend -- 127.0.0.1:9000 hello
//! ```

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let address: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:9000").parse()?;
    let name = args.next().unwrap_or_else(|| "backend".to_owned());
    let listener = TcpListener::bind(address).await?;
    println!("{name} listening on http://{address}");
    loop {
        let (stream, _) = listener.accept().await?;
        let name = name.clone();
        tokio::spawn(async move {
            if let Err(error) = answer(stream, &name).await {
                eprintln!("{name}: {error}");
            }
        });
    }
}

/// Answers the requests of one connection until the client closes it.
async fn answer(stream: TcpStream, name: &str) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            head.push(line);
        }
        let length: u64 = head
            .iter()
            .filter_map(|h| h.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        tokio::io::copy(&mut (&mut reader).take(length), &mut tokio::io::sink()).await?;
        let body = format!("hello from {name}\n{}\n", head.join("\n"));
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        write.write_all(response.as_bytes()).await?;
    }
}

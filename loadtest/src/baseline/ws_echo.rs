//! A raw WebSocket echo server: `kairos-net`'s codec in the server role on a
//! single-threaded tokio runtime of its own OS thread. Every text or binary
//! message is sent straight back; no parsing, no allocation beyond the
//! codec's. It is the floor any WebSocket server on this machine can reach.

use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;

use bytes::BytesMut;
use kairos_net::ws::{self, Connection, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::upgrade::{self, MAX_REQUEST};

/// Largest message echoed.
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// A running echo server; stopped and joined on drop.
pub struct WsEchoServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl WsEchoServer {
    /// Binds 127.0.0.1 on an ephemeral port and serves on a new thread.
    pub fn start() -> io::Result<Self> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("ws-echo".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("ws-echo: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = accept_loop(listener) => {}
                    }
                });
                // Dropping the runtime cancels the connection tasks.
            })?;
        Ok(Self {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The address to connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for WsEchoServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(async move {
                    let _ = serve(stream).await;
                });
            }
            // Out of descriptors and the like: back off briefly.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

async fn serve(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let head_len = loop {
        if let Some(n) = upgrade::head_len(&buf) {
            break n;
        }
        if buf.len() > MAX_REQUEST || stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    };
    let head = buf.split_to(head_len);
    let head = String::from_utf8_lossy(&head).into_owned();
    match upgrade::parse(&head) {
        Ok(u) => {
            let resp = ws::handshake::server_response(&u.accept);
            stream.write_all(resp.as_bytes()).await?;
        }
        Err(rejection) => {
            stream.write_all(rejection.as_bytes()).await?;
            return Ok(());
        }
    }

    let mut conn = Connection::server(MAX_MESSAGE);
    loop {
        loop {
            let event = conn.recv(&mut buf);
            match event {
                Ok(Some(Event::Text(t))) => {
                    // Validated UTF-8 by the codec.
                    let text = std::str::from_utf8(&t).unwrap_or_default();
                    let _ = conn.send_text(text);
                }
                Ok(Some(Event::Binary(b))) => {
                    let _ = conn.send_binary(&b);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => break,
            }
        }
        while let Some(chunk) = conn.take_outbound() {
            stream.write_all(&chunk).await?;
        }
        if conn.is_closed() {
            return Ok(());
        }
        buf.reserve(8 * 1024);
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::{Message, WsClient};

    #[test]
    fn echoes_over_websocket() {
        let server = WsEchoServer::start().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let host = server.addr().to_string();
            let mut c = WsClient::connect(server.addr(), &host, "/", 42)
                .await
                .unwrap();
            c.send_text("hello").await.unwrap();
            assert_eq!(c.recv().await.unwrap(), Message::Text("hello".into()));
            c.send_binary(&[1, 2, 3]).await.unwrap();
            assert_eq!(
                c.recv().await.unwrap(),
                Message::Binary(vec![1, 2, 3].into())
            );
            c.close().await;
        });
    }
}

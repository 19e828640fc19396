//! The raw relay baseline's server process (`kairos-loadtest
//! raw-relay-server`): what it forwards to whom, and what it refuses
//! without dying. No time is asserted: "not delivered" is shown by order,
//! the relay being one thread that forwards each frame before it reads
//! the next.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

use bytes::Bytes;
use kairos_loadtest::baseline::relay_process::RelayProcess;
use kairos_loadtest::ws::{Message, WsClient, WsError};

fn relay(extra: &[&str]) -> RelayProcess {
    RelayProcess::spawn(Path::new(env!("CARGO_BIN_EXE_kairos-loadtest")), extra)
        .expect("start the raw relay")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn join(addr: SocketAddr, group: u64, seed: u64) -> WsClient {
    WsClient::connect(
        addr,
        &addr.to_string(),
        &format!("/relay?group={group}"),
        seed,
    )
    .await
    .expect("upgrade")
}

fn text(s: &str) -> Message {
    Message::Text(Bytes::copy_from_slice(s.as_bytes()))
}

/// Sends a raw request head and returns the response head.
fn raw_request(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut resp = Vec::new();
    // The relay closes the connection after a refusal.
    let _ = s.read_to_end(&mut resp);
    String::from_utf8_lossy(&resp).into_owned()
}

#[test]
fn frames_reach_exactly_the_other_members_of_their_group() {
    let mut server = relay(&[]);
    let addr = server.addr();
    rt().block_on(async {
        let mut a = join(addr, 1, 1).await;
        let mut b = join(addr, 1, 2).await;
        let mut c = join(addr, 1, 3).await;
        let mut d = join(addr, 2, 4).await;
        let mut e = join(addr, 2, 5).await;

        a.send_text("from a").await.unwrap();
        assert_eq!(b.recv().await.unwrap(), text("from a"));
        assert_eq!(c.recv().await.unwrap(), text("from a"));
        // Sent after b has a's frame: were a's frame coming back to a, it
        // would come first.
        b.send_binary(&[0, 1, 2, 255]).await.unwrap();
        assert_eq!(
            a.recv().await.unwrap(),
            Message::Binary(Bytes::from_static(&[0, 1, 2, 255]))
        );
        assert_eq!(
            c.recv().await.unwrap(),
            Message::Binary(Bytes::from_static(&[0, 1, 2, 255]))
        );

        // The other group saw none of it: its first frames are its own.
        d.send_text("from d").await.unwrap();
        assert_eq!(e.recv().await.unwrap(), text("from d"));
        e.send_text("from e").await.unwrap();
        assert_eq!(d.recv().await.unwrap(), text("from e"));

        // Nor did group 1 see group 2's, nor b its own: the next frame
        // each of them gets is c's.
        c.send_text("from c").await.unwrap();
        assert_eq!(a.recv().await.unwrap(), text("from c"));
        assert_eq!(b.recv().await.unwrap(), text("from c"));

        // A member that leaves is no longer sent to; the rest still are.
        a.close().await;
        drop(a);
        b.send_text("after a left").await.unwrap();
        assert_eq!(c.recv().await.unwrap(), text("after a left"));

        for ws in [&mut b, &mut c, &mut d, &mut e] {
            ws.close().await;
        }
    });
    assert!(server.is_running());
}

#[test]
fn bad_upgrades_are_refused_and_the_relay_keeps_serving() {
    let mut server = relay(&[]);
    let addr = server.addr();
    let upgrade = |target: &str| {
        format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
    };
    // No group, a group that is not a number, another path.
    for target in ["/relay", "/relay?group=x", "/other?group=1"] {
        let resp = raw_request(addr, &upgrade(target));
        assert!(resp.starts_with("HTTP/1.1 400 "), "{target}: {resp:?}");
    }
    // Not a WebSocket upgrade at all.
    let resp = raw_request(addr, "GET /relay?group=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(resp.starts_with("HTTP/1.1 426 "), "{resp:?}");
    // A request head without end, past the bound.
    let mut endless = String::from("GET /relay?group=1 HTTP/1.1\r\n");
    while endless.len() < 20 * 1024 {
        endless.push_str("X-Filler: 0123456789abcdef0123456789abcdef\r\n");
    }
    let resp = raw_request(addr, &endless);
    assert!(resp.starts_with("HTTP/1.1 431 "), "{resp:?}");
    assert!(server.is_running());

    rt().block_on(async {
        let refused = WsClient::connect(addr, &addr.to_string(), "/relay?nogroup=1", 9).await;
        assert!(matches!(refused, Err(WsError::Rejected(400))));
        // Still relaying.
        let mut a = join(addr, 7, 1).await;
        let mut b = join(addr, 7, 2).await;
        a.send_text("still here").await.unwrap();
        assert_eq!(b.recv().await.unwrap(), text("still here"));
    });
    assert!(server.is_running());
}

#[test]
fn an_oversize_frame_closes_its_connection_only() {
    let mut server = relay(&["--max-message", "1024"]);
    let addr = server.addr();
    rt().block_on(async {
        let mut big = join(addr, 3, 1).await;
        let mut peer = join(addr, 3, 2).await;
        big.send_binary(&[7u8; 1024]).await.unwrap();
        assert_eq!(
            peer.recv().await.unwrap(),
            Message::Binary(Bytes::from(vec![7u8; 1024]))
        );
        big.send_binary(&[7u8; 1025]).await.unwrap();
        match big.recv().await {
            Err(WsError::Closed(Some(1009))) => {}
            other => panic!("expected close 1009, got {other:?}"),
        }
        // The group's other member is untouched and never got the frame:
        // the next it gets comes from a newcomer.
        let mut newcomer = join(addr, 3, 3).await;
        newcomer.send_text("hello").await.unwrap();
        assert_eq!(peer.recv().await.unwrap(), text("hello"));
    });
    assert!(server.is_running());
}

/// The most bytes the kernel can hold for one loopback connection: the
/// largest send buffer plus the largest receive buffer.
fn kernel_buffer_bound() -> usize {
    let max = |path: &str| -> usize {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.split_whitespace().last()?.parse().ok())
            .unwrap_or(64 << 20)
    };
    max("/proc/sys/net/ipv4/tcp_rmem") + max("/proc/sys/net/ipv4/tcp_wmem")
}

#[test]
fn a_member_that_does_not_read_is_dropped_at_the_output_bound() {
    let mut server = relay(&["--max-message", "1024"]);
    let addr = server.addr();
    // The relay keeps at most 1 MiB for a recipient (with this message
    // size); send more than that plus everything the kernel can buffer.
    const FRAME: usize = 1000;
    let frames = (kernel_buffer_bound() + (2 << 20)) / FRAME + 1;
    rt().block_on(async {
        let mut sender = join(addr, 4, 1).await;
        let mut idle = join(addr, 4, 2).await;
        let frame = vec![1u8; FRAME];
        for _ in 0..frames {
            sender.send_binary(&frame).await.unwrap();
        }
        // Now read: what was buffered, then the end of the connection.
        let mut got = 0usize;
        let end = loop {
            match idle.recv().await {
                Ok(Message::Binary(b)) => {
                    assert_eq!(b.len(), FRAME);
                    got += 1;
                }
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => break e,
            }
        };
        assert!(got < frames, "dropped before the end: {got} of {frames}");
        assert!(matches!(end, WsError::Io(_)), "{end:?}");
        // The sender is still served: a newcomer gets its next frame.
        let mut newcomer = join(addr, 4, 3).await;
        sender.send_text("after").await.unwrap();
        assert_eq!(newcomer.recv().await.unwrap(), text("after"));
    });
    assert!(server.is_running());
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["raw-relay-server", "--bogus", "1"][..],
        &["raw-relay-server", "--max-message", "0"],
        &["raw-relay-server", "--listen"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kairos-loadtest"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

//! The seam's contract, run on whichever runtime this build uses: each
//! test starts a shard thread and drives the sockets through the seam only.

use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use super::*;

/// Runs `main` on a fresh shard thread and returns its result.
fn on_shard<T, F>(main: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: Future<Output = T> + 'static,
{
    on_shard_tuned(Tuning::default(), main)
}

/// [`on_shard`] with the executor started with `tuning`.
fn on_shard_tuned<T, F>(tuning: Tuning, main: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: Future<Output = T> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = start_pinned("rt-test", None, tuning, move || async move {
        let _ = tx.send(main().await);
    })
    .expect("shard thread starts");
    thread.join().expect("shard thread ends");
    rx.recv().expect("shard sent its result")
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn read_some(s: &mut TcpStream, buf: &mut [u8]) -> usize {
    std::future::poll_fn(|cx| s.poll_read(cx, buf))
        .await
        .expect("read")
}

async fn write_all(s: &mut TcpStream, mut data: &[u8]) {
    while !data.is_empty() {
        let n = std::future::poll_fn(|cx| s.poll_write(cx, data))
            .await
            .expect("write");
        data = &data[n..];
    }
    std::future::poll_fn(|cx| s.poll_flush(cx))
        .await
        .expect("flush");
}

/// Echoes one message through a listener and an accepted stream on a
/// shard started with `tuning`; returns what the client read back.
fn tcp_echo(tuning: Tuning) -> Vec<u8> {
    on_shard_tuned(tuning, || async {
        let listener = bind_reuseport(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(async move {
            let mut s = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            let mut buf = [0u8; 64];
            let n = read_some(&mut s, &mut buf).await;
            write_all(&mut s, &buf[..n]).await;
            std::future::poll_fn(|cx| s.poll_close(cx)).await.unwrap();
        });
        // A blocking client on its own thread: the seam is on the server side.
        let client = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(b"ping").unwrap();
            let mut out = Vec::new();
            c.read_to_end(&mut out).unwrap();
            out
        });
        while !client.is_finished() {
            sleep(Duration::from_millis(1)).await;
        }
        client.join().unwrap()
    })
}

#[test]
fn tcp_echo_through_the_seam() {
    assert_eq!(tcp_echo(Tuning::default()), b"ping");
}

/// The knobs of `kairos.reactor.*` at their edges still give a working
/// shard: a small ring, and monoio forced onto epoll.
#[test]
fn tcp_echo_with_a_small_ring_and_forced_epoll() {
    let tuning = Tuning {
        ring_depth: 8,
        force_epoll: true,
        ..Tuning::default()
    };
    assert_eq!(tcp_echo(tuning), b"ping");
}

/// The mesh wakes a parked shard from another shard's thread through a
/// plain waker: the runtime must accept wakes from foreign threads.
#[test]
fn a_wake_from_another_thread_reaches_a_shard_task() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let woken = on_shard(|| async {
        let waker = Arc::new(atomic_waker::AtomicWaker::new());
        let flag = Arc::new(AtomicBool::new(false));
        let (w, f) = (waker.clone(), flag.clone());
        let other = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            f.store(true, Ordering::Release);
            w.wake();
        });
        std::future::poll_fn(|cx| {
            waker.register(cx.waker());
            if flag.load(Ordering::Acquire) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        other.join().unwrap();
        flag.load(Ordering::Acquire)
    });
    assert!(woken);
}

#[test]
fn shutdown_handle_ends_a_blocked_read() {
    let n = on_shard(|| async {
        let listener = bind_reuseport(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let mut s = listener.accept().await.unwrap();
        let handle = s.shutdown_handle();
        let reader = spawn_task(async move {
            let mut buf = [0u8; 8];
            std::future::poll_fn(|cx| s.poll_read(cx, &mut buf)).await
        });
        sleep(Duration::from_millis(5)).await;
        handle.shutdown();
        reader.await.unwrap_or(usize::MAX)
    });
    // EOF (or an error) instead of waiting forever.
    assert!(n == 0 || n == usize::MAX);
}

#[test]
fn udp_round_trip_with_owned_buffers() {
    let got = on_shard(|| async {
        let a = bind_udp(loopback()).unwrap();
        let b = bind_udp(loopback()).unwrap();
        let to = b.local_addr().unwrap();
        let (sent, _) = a.send_to(b"hello".to_vec(), to).await;
        assert_eq!(sent.unwrap(), 5);
        let (r, buf) = b.recv_from(vec![0u8; 64]).await;
        let (n, from) = r.unwrap();
        assert_eq!(from, a.local_addr().unwrap());
        assert_eq!(buf.len(), 64, "the buffer comes back whole");
        buf[..n].to_vec()
    });
    assert_eq!(got, b"hello");
}

#[test]
fn udp_batch_sends_every_datagram_in_order() {
    let got = on_shard(|| async {
        let a = bind_udp(loopback()).unwrap();
        let b = bind_udp(loopback()).unwrap();
        let c = bind_udp(loopback()).unwrap();
        let (to_b, to_c) = (b.local_addr().unwrap(), c.local_addr().unwrap());
        let mut batch = DatagramBatch::default();
        // More than one system call takes, to two destinations.
        for i in 0..MAX_BATCH + 5 {
            let to = if i % 2 == 0 { to_b } else { to_c };
            batch.push(to, format!("d{i}").as_bytes());
        }
        let mut next = 0;
        while next < batch.len() {
            next += a.send_batch(&batch, next).await.unwrap();
        }
        assert_eq!(next, batch.len());
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64];
        for i in 0..batch.len() {
            let socket = if i % 2 == 0 { &b } else { &c };
            let (r, back) = socket.recv_from(buf).await;
            buf = back;
            let (n, from) = r.unwrap();
            assert_eq!(from, a.local_addr().unwrap());
            got.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        got
    });
    let want: Vec<String> = (0..MAX_BATCH + 5).map(|i| format!("d{i}")).collect();
    assert_eq!(got, want);
}

#[test]
fn two_sockets_share_a_port_with_reuseport() {
    on_shard(|| async {
        let a = bind_reuseport(loopback()).unwrap();
        let port = a.local_addr().unwrap();
        bind_reuseport(port).expect("second tcp listener on the same port");
        let u = bind_udp(loopback()).unwrap();
        bind_udp(u.local_addr().unwrap()).expect("second udp socket on the same port");
    });
}

#[test]
fn dropping_a_task_cancels_it_and_timeout_fires() {
    let (ran, timed_out) = on_shard(|| async {
        let ran = Rc::new(std::cell::Cell::new(false));
        let r = ran.clone();
        let task = spawn_task(async move {
            sleep(Duration::from_millis(20)).await;
            r.set(true);
        });
        drop(task);
        let timed_out = timeout(Duration::from_millis(1), std::future::pending::<()>())
            .await
            .is_none();
        sleep(Duration::from_millis(40)).await;
        (ran.get(), timed_out)
    });
    assert!(!ran, "a dropped task must not run on");
    assert!(timed_out);
}

/// A task in a burst yields so that the tasks it made ready (writers it
/// fed) have run when it goes on.
#[test]
fn yield_now_lets_the_other_ready_tasks_run_first() {
    let ran_before_resuming = on_shard(|| async {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let ran = Rc::new(std::cell::Cell::new(false));
            let r = ran.clone();
            spawn(async move { r.set(true) });
            yield_now().await;
            seen.push(ran.get());
        }
        seen
    });
    assert_eq!(ran_before_resuming, [true, true]);
}

#[test]
fn awaited_task_yields_its_output() {
    let v = on_shard(|| async {
        let t = spawn_task(async {
            yield_now().await;
            41 + 1
        });
        t.await
    });
    assert_eq!(v, 42);
}

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

/// A receive on an empty socket waits (through the reactor) for the first
/// datagram; once several wait, one receive takes them all.
#[test]
fn udp_receive_waits_for_a_datagram_then_takes_all_that_wait() {
    let (first, rest, calls) = on_shard(|| async {
        let a = bind_udp(loopback()).unwrap();
        let b = Rc::new(bind_udp(loopback()).unwrap());
        let to = b.local_addr().unwrap();
        let from = a.local_addr().unwrap();
        let receiver = b.clone();
        let waiting = spawn_task(async move {
            let (r, mut batch) = receiver.recv_batch(ReceivedBatch::new(64, 8)).await;
            assert_eq!(r.unwrap(), 1);
            let (source, bytes) = batch.get_mut(0).unwrap();
            assert_eq!(source, from);
            (bytes.to_vec(), batch)
        });
        sleep(Duration::from_millis(5)).await;
        let (sent, _) = a.send_to(b"hello".to_vec(), to).await;
        assert_eq!(sent.unwrap(), 5);
        let (first, batch) = waiting.await;
        for i in 0..3 {
            a.send_to(format!("more {i}").into_bytes(), to)
                .await
                .0
                .unwrap();
        }
        // Loopback delivers within the send, unless the kernel defers its
        // receive work under load: give that time to run.
        sleep(Duration::from_millis(50)).await;
        let mut batch = batch;
        let mut rest = Vec::new();
        let mut calls = 0;
        while rest.len() < 3 {
            let (r, back) = b.recv_batch(batch).await;
            batch = back;
            r.unwrap();
            calls += 1;
            rest.extend((0..batch.len()).map(|i| batch.get_mut(i).unwrap().1.to_vec()));
        }
        (first, rest, calls)
    });
    assert_eq!(first, b"hello");
    assert_eq!(rest, [&b"more 0"[..], b"more 1", b"more 2"]);
    assert!(
        calls < 3,
        "one receive took several datagrams ({calls} calls)"
    );
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
        let mut got = [Vec::new(), Vec::new()];
        let mut received = ReceivedBatch::new(64, MAX_RECV_BATCH);
        // b has the even datagrams, c the odd ones.
        let counts = [batch.len().div_ceil(2), batch.len() / 2];
        for ((socket, got), count) in [&b, &c].into_iter().zip(&mut got).zip(counts) {
            while got.len() < count {
                let (r, back) = socket.recv_batch(received).await;
                received = back;
                r.unwrap();
                for i in 0..received.len() {
                    let (from, bytes) = received.get_mut(i).unwrap();
                    assert_eq!(from, a.local_addr().unwrap());
                    got.push(String::from_utf8(bytes.to_vec()).unwrap());
                }
            }
        }
        got
    });
    let want = |parity| -> Vec<String> {
        (0..MAX_BATCH + 5)
            .filter(|i| i % 2 == parity)
            .map(|i| format!("d{i}"))
            .collect()
    };
    assert_eq!(got, [want(0), want(1)]);
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

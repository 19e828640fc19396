//! Allocations of the realtime wires on their hot path (FlatBuffers,
//! protobuf and JSON), counted by a global allocator (its own test binary, so nothing
//! else is counted).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use kairos_schema::flat::{decode, encode, encode_empty_reply, encode_request};
use kairos_schema::rtapi::{Envelope, Incoming, MatchData, MatchDataSend, Outgoing, UserPresence};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a const-initialised thread-local `Cell`, which never
// allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations made on this thread by `f`.
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

#[test]
fn encoding_match_data_allocates_only_the_output() {
    let msg = Outgoing::MatchData(MatchData {
        match_id: "0b1c5d2e-6f7a-4b8c-9d0e-1f2a3b4c5d6e.".into(),
        presence: UserPresence {
            user_id: "user".into(),
            session_id: "session".into(),
            username: "name".into(),
            ..Default::default()
        },
        op_code: 7,
        data: Bytes::from(vec![1u8; 200]),
        reliable: true,
    });
    // JSON: the output alone, with the room a frame header needs before
    // it, as the WebSocket encoder writes it.
    let (n, _) = allocations(|| msg.to_json("12"));
    assert_eq!(n, 1, "to_json");
    let (n, out) = allocations(|| {
        let mut out = Vec::with_capacity(10 + msg.json_len_hint("12"));
        out.resize(10, 0);
        msg.write_json(&mut out, "12");
        out
    });
    assert_eq!(n, 1, "write_json after room for a header");
    assert_eq!(&out[10..], &msg.to_json("12")[..]);
    // FlatBuffers: the first call grows this thread's builder; later ones
    // reuse it.
    encode("12", &msg);
    for _ in 0..3 {
        let (n, out) = allocations(|| encode("12", &msg));
        assert_eq!(n, 1, "allocations for {} bytes", out.len());
    }
    let (n, _) = allocations(|| encode("", &Outgoing::Pong {}));
    assert_eq!(n, 1);
    let (n, _) = allocations(|| encode_empty_reply("3"));
    assert_eq!(n, 1);
    // Each vector of tables adds two short-lived lists of offsets: ours,
    // and planus's copy of it (its slice writer's own buffer).
    let status = Outgoing::Status(kairos_schema::rtapi::StatusOut {
        presences: vec![UserPresence::default(); 3],
    });
    encode("", &status);
    let (n, _) = allocations(|| encode("", &status));
    assert_eq!(n, 3);
}

#[test]
fn decoding_binary_match_data_copies_only_the_match_id() {
    let message = Incoming::MatchDataSend(MatchDataSend {
        match_id: "m.1".into(),
        op_code: 1,
        data: Bytes::from(vec![9u8; 1000]),
        presences: Vec::new(),
        reliable: false,
    });
    type Decode = fn(&Bytes) -> Envelope;
    let wires: [(&str, Vec<u8>, Decode); 2] = [
        ("flatbuffers", encode_request("", &message), |b| {
            decode(b).unwrap()
        }),
        (
            "protobuf",
            kairos_schema::proto::encode_request("", &message),
            |b| kairos_schema::proto::decode(b).unwrap(),
        ),
    ];
    for (wire, bytes, decode) in wires {
        let buf = Bytes::from(bytes);
        // A `Bytes` made from a `Vec` allocates its shared header on its
        // first clone or slice, once per frame, whoever slices it: do that
        // first.
        let _shared = buf.clone();
        // Then one allocation: the match id. The data is a slice of `buf`,
        // and an empty cid and empty presences allocate nothing.
        let (n, e) = allocations(|| decode(&buf));
        assert_eq!(n, 1, "{wire}");
        let Incoming::MatchDataSend(m) = e.message else {
            panic!("not match data")
        };
        assert_eq!(m.data.len(), 1000);
    }
}

#[test]
fn decoding_json_match_data_allocates_only_its_fields() {
    let text = br#"{"match_data_send":{"match_id":"0b1c5d2e-6f7a-4b8c-9d0e-1f2a3b4c5d6e.","op_code":"1","data":"AQIDBAUGBwgJCgsMDQ4PEA=="}}"#;
    // Two allocations: the match id and the decoded data. The message's
    // name and the base64 are read in place, the data's vector is exactly
    // its length (so `Bytes` adds no header), and no error is built.
    let (n, e) = allocations(|| Envelope::from_json(text).unwrap());
    assert_eq!(n, 2);
    let Incoming::MatchDataSend(m) = e.message else {
        panic!("not match data")
    };
    assert_eq!((m.op_code, m.data.len()), (1, 16));
    let (n, _) = allocations(|| Envelope::from_json(br#"{"ping":{}}"#).unwrap());
    assert_eq!(n, 0);
}

//! criterion: sealing and opening one reliable-UDP datagram with the AEAD
//! renetcode uses (ChaCha20-Poly1305, IETF nonce, netcode's associated
//! data), at sizes a datagram has: a lone message, a few bundled, a full
//! bundle. Run it as built (the workspace's `.cargo/config.toml` selects
//! poly1305's portable backend) and again with `RUSTFLAGS=` (empty: the
//! backend poly1305 picks at run time, AVX2 here) to compare the two.
//! The second group is ring's ChaCha20-Poly1305, with which Kairos seals
//! and opens payload packets (`kairos_net::rudp`'s `seal.rs`).

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// netcode's associated data: version, protocol id, prefix byte.
const AAD: [u8; 22] = *b"NETCODE 1.02\0\x07\0\0\0\0\0\0\0\x05";

fn seal_open(c: &mut Criterion) {
    let aead = ChaCha20Poly1305::new(Key::from_slice(&[7u8; 32]));
    let backend = if cfg!(poly1305_force_soft) {
        "portable poly1305"
    } else {
        "poly1305 as detected"
    };
    let mut g = c.benchmark_group(format!("datagram_seal_open ({backend})"));
    for size in [64usize, 200, 600, 1200] {
        let mut buf = vec![1u8; size];
        let mut sequence = 0u64;
        g.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                sequence += 1;
                let mut nonce = [0u8; 12];
                nonce[4..].copy_from_slice(&sequence.to_le_bytes());
                let nonce = Nonce::from_slice(&nonce);
                let tag = aead
                    .encrypt_in_place_detached(nonce, &AAD, &mut buf)
                    .expect("seals");
                aead.decrypt_in_place_detached(nonce, &AAD, &mut buf, &tag)
                    .expect("opens");
            })
        });
    }
    g.finish();
}

fn seal_open_ring(c: &mut Criterion) {
    use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[7u8; 32]).expect("key"));
    let nonce = |sequence: u64| {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&sequence.to_le_bytes());
        Nonce::assume_unique_for_key(nonce)
    };
    let mut g = c.benchmark_group("datagram_seal_open (ring)");
    for size in [64usize, 200, 600, 1200] {
        // The plaintext, then room for the tag, as a sealed packet has.
        let mut buf = vec![1u8; size + 16];
        let mut sequence = 0u64;
        g.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(|| {
                sequence += 1;
                let (body, tag_room) = buf.split_at_mut(size);
                let tag = key
                    .seal_in_place_separate_tag(nonce(sequence), Aad::from(&AAD), body)
                    .expect("seals");
                tag_room.copy_from_slice(tag.as_ref());
                key.open_in_place(nonce(sequence), Aad::from(&AAD), &mut buf)
                    .expect("opens");
            })
        });
    }
    g.finish();
}

criterion_group!(benches, seal_open, seal_open_ring);
criterion_main!(benches);

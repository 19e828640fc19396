//! criterion: sealing and opening one reliable-UDP datagram with the AEAD
//! renetcode uses (ChaCha20-Poly1305, IETF nonce, netcode's associated
//! data), at sizes a datagram has: a lone message, a few bundled, a full
//! bundle. Run it as built (the workspace's `.cargo/config.toml` selects
//! poly1305's portable backend) and again with `RUSTFLAGS=` (empty: the
//! backend poly1305 picks at run time, AVX2 here) to compare the two.

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

criterion_group!(benches, seal_open);
criterion_main!(benches);

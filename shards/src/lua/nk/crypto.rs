//! Ciphers and password hashes: `aes128_encrypt/decrypt`,
//! `aes256_encrypt/decrypt` (AES in CFB mode, a random IV before the
//! ciphertext, the input padded with spaces to a multiple of 4 bytes,
//! raw bytes out, as Nakama's) and `bcrypt_hash`/`bcrypt_compare`, which
//! run on the persistence pool's blocking threads, never the shard's.

use aes::cipher::{AsyncStreamCipher, KeyIvInit};

use super::{Args, Module, server_error};

/// The AES block, and so the IV, in bytes.
const BLOCK: usize = 16;

/// The longest password bcrypt uses; Go's bcrypt refuses longer ones.
const BCRYPT_MAX: usize = 72;

/// The shortest bcrypt hash; a shorter one compares as a mismatch.
const BCRYPT_MIN_HASH: usize = 59;

pub fn add(m: &Module) -> mlua::Result<()> {
    for (name, key_len) in [("aes128_encrypt", 16), ("aes256_encrypt", 32)] {
        m.sync(name, move |lua, _, a| {
            let (input, key) = input_and_key(&a, key_len)?;
            let mut iv = [0u8; BLOCK];
            rand::fill(&mut iv);
            lua.create_string(aes_encrypt(&key, iv, &input))
        })?;
    }
    for (name, key_len) in [("aes128_decrypt", 16), ("aes256_decrypt", 32)] {
        m.sync(name, move |lua, _, a| {
            let (input, key) = input_and_key(&a, key_len)?;
            let plain = aes_decrypt(&key, &input)
                .ok_or_else(|| mlua::Error::RuntimeError("input too short".into()))?;
            lua.create_string(plain)
        })?;
    }
    m.async_fn("bcrypt_hash", |_, current, a| async move {
        let input = a.bytes(1)?;
        if input.is_empty() {
            return Err(a.error(1, "expects string"));
        }
        if input.len() > BCRYPT_MAX {
            return Err(mlua::Error::RuntimeError(
                "error hashing input: bcrypt: password length exceeds 72 bytes".into(),
            ));
        }
        let nk = current.nk("bcrypt_hash")?;
        let cost = nk.password_hash_cost();
        nk.blocking(move || bcrypt::hash(input, cost))
            .await
            .map_err(|e| server_error("error hashing input", e))?
            .map_err(|e| mlua::Error::RuntimeError(format!("error hashing input: {e}")))
    })?;
    m.async_fn("bcrypt_compare", |_, current, a| async move {
        let hash = a.string(1)?;
        if hash.is_empty() {
            return Err(a.error(1, "expects string"));
        }
        let plain = a.bytes(2)?;
        if plain.is_empty() {
            return Err(a.error(2, "expects string"));
        }
        if hash.len() < BCRYPT_MIN_HASH {
            return Ok(false);
        }
        let nk = current.nk("bcrypt_compare")?;
        nk.blocking(move || bcrypt::verify(plain, &hash))
            .await
            .map_err(|e| server_error("error comparing hash and plaintext", e))?
            .map_err(|e| {
                mlua::Error::RuntimeError(format!("error comparing hash and plaintext: {e}"))
            })
    })?;
    Ok(())
}

/// The input (not empty) and a key of exactly `key_len` bytes.
fn input_and_key(a: &Args, key_len: usize) -> mlua::Result<(Vec<u8>, Vec<u8>)> {
    let input = a.bytes(1)?;
    if input.is_empty() {
        return Err(a.error(1, "expects string"));
    }
    let key = a.bytes(2)?;
    if key.len() != key_len {
        return Err(a.error(2, &format!("expects key {key_len} bytes long")));
    }
    Ok((input, key))
}

/// `iv` then `input`, padded with spaces to a multiple of 4 bytes and
/// encrypted with AES-CFB under `key` (16 or 32 bytes).
pub fn aes_encrypt(key: &[u8], iv: [u8; BLOCK], input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOCK + input.len() + 3);
    out.extend_from_slice(&iv);
    out.extend_from_slice(input);
    while !(out.len() - BLOCK).is_multiple_of(4) {
        out.push(b' ');
    }
    let text = &mut out[BLOCK..];
    match key.len() {
        16 => cfb_mode::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
            .expect("a 16-byte key and IV")
            .encrypt(text),
        _ => cfb_mode::Encryptor::<aes::Aes256>::new_from_slices(key, &iv)
            .expect("a 32-byte key and IV")
            .encrypt(text),
    }
    out
}

/// The plaintext of `input` (an IV, then AES-CFB ciphertext under `key`),
/// padding included; `None` if `input` is shorter than an IV.
pub fn aes_decrypt(key: &[u8], input: &[u8]) -> Option<Vec<u8>> {
    if input.len() < BLOCK {
        return None;
    }
    let (iv, cipher) = input.split_at(BLOCK);
    let mut out = cipher.to_vec();
    match key.len() {
        16 => cfb_mode::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .expect("a 16-byte key and IV")
            .decrypt(&mut out),
        _ => cfb_mode::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .expect("a 32-byte key and IV")
            .decrypt(&mut out),
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use aes::cipher::{BlockEncrypt, KeyInit};

    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// CFB with a full-block segment written from its definition
    /// (NIST SP 800-38A, 6.3): each block of ciphertext is the plaintext
    /// XOR the encryption of the previous ciphertext block (the IV first),
    /// the last block cut to the plaintext's length.
    fn reference_cfb(key: &[u8], iv: [u8; BLOCK], plain: &[u8]) -> Vec<u8> {
        let encrypt = |block: &mut [u8; BLOCK]| {
            let b = aes::cipher::generic_array::GenericArray::from_mut_slice(block);
            match key.len() {
                16 => aes::Aes128::new_from_slice(key).unwrap().encrypt_block(b),
                _ => aes::Aes256::new_from_slice(key).unwrap().encrypt_block(b),
            }
        };
        let mut prev = iv;
        let mut out = iv.to_vec();
        for chunk in plain.chunks(BLOCK) {
            let mut stream = prev;
            encrypt(&mut stream);
            let c: Vec<u8> = chunk.iter().zip(stream).map(|(p, s)| p ^ s).collect();
            if c.len() == BLOCK {
                prev.copy_from_slice(&c);
            }
            out.extend_from_slice(&c);
        }
        out
    }

    #[test]
    fn aes_cfb_matches_the_nist_vector() {
        // SP 800-38A F.3.13, CFB128-AES128, first block.
        let key = unhex("2b7e151628aed2a6abf7158809cf4f3c");
        let iv: [u8; 16] = unhex("000102030405060708090a0b0c0d0e0f")
            .try_into()
            .unwrap();
        let plain = unhex("6bc1bee22e409f96e93d7e117393172a");
        let out = aes_encrypt(&key, iv, &plain);
        assert_eq!(&out[..16], &iv);
        assert_eq!(out[16..], unhex("3b3fd92eb72dad20333449f8e83cfb4a"));
    }

    #[test]
    fn decrypts_what_nakamas_algorithm_encrypts_and_round_trips() {
        let iv = [7u8; BLOCK];
        for key in [b"0123456789abcdef".to_vec(), [9u8; 32].to_vec()] {
            // Nakama pads to a multiple of 4 with spaces before it
            // encrypts: 38 bytes become 40, two and a half blocks.
            let text = b"a secret spanning more than two blocks";
            assert_eq!(text.len(), 38);
            let mut padded = text.to_vec();
            padded.extend_from_slice(b"  ");
            let theirs = reference_cfb(&key, iv, &padded);
            assert_eq!(aes_decrypt(&key, &theirs).unwrap(), padded);
            assert_eq!(aes_encrypt(&key, iv, text), theirs);
            let other = aes_encrypt(&key, [1u8; BLOCK], b"abcd");
            assert_eq!(other.len(), BLOCK + 4);
            assert_eq!(aes_decrypt(&key, &other).unwrap(), b"abcd");
        }
        assert_eq!(aes_decrypt(&[0u8; 16], &[0u8; 15]), None);
    }
}

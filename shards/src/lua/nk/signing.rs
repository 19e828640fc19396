//! `rsa_sha256_hash` (an RSA PKCS#1 v1.5 signature of the input's SHA-256
//! with a PEM private key, raw bytes out), `jwt_generate` (a JWT signed
//! with HS256 or RS256) and `secure_random_bytes`, as Nakama's.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use mlua::Value as LuaValue;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::Value;
use sha2::Sha256;

use super::Module;
use crate::lua::convert;
use crate::lua::state::Current;

/// Most bytes `secure_random_bytes` gives, as Nakama's.
const MAX_RANDOM: i64 = 1000;

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("rsa_sha256_hash", |lua, current, a| async move {
        let input = a.bytes(1)?;
        if input.is_empty() {
            return Err(a.error(1, "expects input string"));
        }
        let key = a.string(2)?;
        if key.is_empty() {
            return Err(a.error(2, "expects key string"));
        }
        let signature = off_shard(&current, "rsa_sha256_hash", move || {
            rsa_sha256_sign(&key, &input)
        })
        .await?;
        lua.create_string(signature)
    })?;
    m.async_fn("jwt_generate", |_, current, a| async move {
        let algo = a.string(1)?;
        if algo.is_empty() {
            return Err(a.error(1, "expects string"));
        }
        let algo = match algo.as_str() {
            "HS256" => Algo::Hs256,
            "RS256" => Algo::Rs256,
            _ => {
                return Err(a.error(1, "unsupported algo type - only allowed 'HS256', 'RS256'."));
            }
        };
        let key = a.string(2)?;
        if key.is_empty() {
            return Err(a.error(2, "expects string"));
        }
        let claims = a.table(3)?;
        let claims = match convert::to_json(&LuaValue::Table(claims))? {
            Value::Object(o) => o,
            // An empty table converts as an empty list.
            Value::Array(l) if l.is_empty() => Default::default(),
            _ => return Err(a.error(3, "expects claims table to be a map")),
        };
        off_shard(&current, "jwt_generate", move || jwt(algo, &key, &claims)).await
    })?;
    m.sync("secure_random_bytes", |lua, _, a| {
        let count = a.int(1)?;
        if !(1..=MAX_RANDOM).contains(&count) {
            return Err(a.error(1, "count must be 1-1000"));
        }
        let mut bytes = vec![0u8; count as usize];
        rand::fill(&mut bytes[..]);
        lua.create_string(bytes)
    })?;
    Ok(())
}

/// Runs `f` (a signature: RSA costs milliseconds) on the persistence
/// pool when on a shard, in place while modules load at startup; its
/// error is the Lua error's text.
async fn off_shard<T: Send + 'static>(
    current: &Current,
    function: &str,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> mlua::Result<T> {
    let done = match current.nk(function) {
        Ok(nk) => nk
            .blocking(f)
            .await
            .map_err(|e| mlua::Error::RuntimeError(e.message.into_owned()))?,
        Err(_) => f(),
    };
    done.map_err(mlua::Error::RuntimeError)
}

/// The body of the first PEM block of `text`, as Go's `pem.Decode`
/// finds it (its type is not checked).
fn pem_block(text: &str) -> Option<Vec<u8>> {
    let begin = text.find("-----BEGIN ")?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----")?;
    let label = &rest[..label_end];
    if label.contains('\n') {
        return None;
    }
    let body = &rest[label_end + 5..];
    let end = body.find(&format!("-----END {label}-----"))?;
    let b64: String = body[..end]
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).ok()
}

/// The PKCS#1 v1.5 signature of SHA-256(`input`) with the PEM PKCS#1
/// RSA private key `key`. Errors are Nakama's texts.
pub fn rsa_sha256_sign(key: &str, input: &[u8]) -> Result<Vec<u8>, String> {
    let der = pem_block(key).ok_or("could not parse private key: no valid blocks found")?;
    let pair = RsaKeyPair::from_der(&der).map_err(|e| format!("error parsing key: {e}"))?;
    sign(&pair, input).map_err(|e| format!("error signing input: {e}"))
}

fn sign(pair: &RsaKeyPair, input: &[u8]) -> Result<Vec<u8>, ring::error::Unspecified> {
    let mut out = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input,
        &mut out,
    )?;
    Ok(out)
}

#[derive(Clone, Copy)]
pub enum Algo {
    Hs256,
    Rs256,
}

/// A JWT of `claims`: HS256 with `key` as the HMAC secret, or RS256 with
/// `key` a PEM PKCS#8 RSA private key, as Nakama's (golang-jwt's header
/// `{"alg":...,"typ":"JWT"}`, base64url without padding).
pub fn jwt(
    algo: Algo,
    key: &str,
    claims: &serde_json::Map<String, Value>,
) -> Result<String, String> {
    let alg = match algo {
        Algo::Hs256 => "HS256",
        Algo::Rs256 => "RS256",
    };
    let header = serde_json::json!({ "alg": alg, "typ": "JWT" });
    let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("JSON"));
    let signing_input = format!(
        "{}.{}",
        encode(&header),
        encode(&Value::Object(claims.clone()))
    );
    let signature = match algo {
        Algo::Hs256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
                .map_err(|e| format!("failed to sign token: {e}"))?;
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Algo::Rs256 => {
            let der = pem_block(key).ok_or("could not parse private key: no valid blocks found")?;
            let pair = RsaKeyPair::from_pkcs8(&der)
                .map_err(|e| format!("could not parse private key: {e}"))?;
            sign(&pair, signing_input.as_bytes())
                .map_err(|e| format!("failed to sign token: {e}"))?
        }
    };
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    /// A 2048-bit key made for these tests only (`openssl genrsa`), as
    /// PKCS#1 and as PKCS#8.
    const PKCS1: &str = include_str!("../../../../tests/lua/data/rsa_pkcs1.pem");
    const PKCS8: &str = include_str!("../../../../tests/lua/data/rsa_pkcs8.pem");

    fn public_key() -> Vec<u8> {
        let pair = RsaKeyPair::from_der(&pem_block(PKCS1).unwrap()).unwrap();
        pair.public().as_ref().to_vec()
    }

    fn verify(msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key())
            .verify(msg, sig)
            .is_ok()
    }

    #[test]
    fn rsa_signatures_verify_with_the_public_key() {
        let sig = rsa_sha256_sign(PKCS1, b"hello").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(verify(b"hello", &sig));
        assert!(!verify(b"hellO", &sig));
        // PKCS#1 v1.5 is deterministic.
        assert_eq!(sig, rsa_sha256_sign(PKCS1, b"hello").unwrap());
        assert_eq!(
            rsa_sha256_sign("not a key", b"x").unwrap_err(),
            "could not parse private key: no valid blocks found"
        );
        let bad = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(
            rsa_sha256_sign(bad, b"x")
                .unwrap_err()
                .starts_with("error parsing key: ")
        );
    }

    fn parts(token: &str) -> (Value, Value, Vec<u8>, String) {
        let p: Vec<&str> = token.split('.').collect();
        assert_eq!(p.len(), 3, "{token}");
        let json = |s: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
        (
            json(p[0]),
            json(p[1]),
            URL_SAFE_NO_PAD.decode(p[2]).unwrap(),
            format!("{}.{}", p[0], p[1]),
        )
    }

    #[test]
    fn jwts_decode_and_their_signatures_verify() {
        let claims = serde_json::json!({ "sub": "u1", "exp": 1700000000, "roles": ["a"] });
        let claims = claims.as_object().unwrap();

        let token = jwt(Algo::Hs256, "secret", claims).unwrap();
        let (header, body, sig, input) = parts(&token);
        assert_eq!(header, serde_json::json!({ "alg": "HS256", "typ": "JWT" }));
        assert_eq!(&body, &Value::Object(claims.clone()));
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(input.as_bytes());
        mac.verify_slice(&sig).expect("HMAC verifies");
        // A known token: header and claims as golang-jwt writes them.
        let one = serde_json::json!({ "a": 1 });
        assert_eq!(
            jwt(Algo::Hs256, "k", one.as_object().unwrap()).unwrap(),
            format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxfQ.{}", {
                let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
                mac.update(b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhIjoxfQ");
                URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
            })
        );

        let token = jwt(Algo::Rs256, PKCS8, claims).unwrap();
        let (header, body, sig, input) = parts(&token);
        assert_eq!(header, serde_json::json!({ "alg": "RS256", "typ": "JWT" }));
        assert_eq!(&body, &Value::Object(claims.clone()));
        assert!(verify(input.as_bytes(), &sig));
        // RS256 wants PKCS#8, as Nakama's.
        assert!(
            jwt(Algo::Rs256, PKCS1, claims)
                .unwrap_err()
                .starts_with("could not parse private key: ")
        );
        assert_eq!(
            jwt(Algo::Rs256, "x", claims).unwrap_err(),
            "could not parse private key: no valid blocks found"
        );
    }
}

//! Runs game code so that its failures stay its own: a panic while the
//! future is polled becomes an error for that call, and a deadline bounds
//! how long the call may take. The shard goes on either way.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use kairos_core::error::{ApiError, Code};

use crate::rt;

/// How a guarded call ended other than with its own result.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// It panicked; the message is the panic's, when it is a string.
    Panicked(String),
    /// It ran past its deadline and was dropped.
    TimedOut,
}

impl Failure {
    /// The error a caller sees. A panic's message is logged, not shown.
    pub fn to_error(&self) -> ApiError {
        match self {
            Failure::Panicked(_) => ApiError::new(Code::Internal, "Internal Server Error"),
            Failure::TimedOut => ApiError::new(Code::DeadlineExceeded, "RPC function timed out"),
        }
    }
}

/// A future whose panics are caught at each poll.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, Failure>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(Failure::Panicked(panic_message(&*payload)))),
        }
    }
}

/// Runs a plain function with its panic caught: the panic's message.
pub fn catch<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(&*payload))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// Runs `fut` with panics caught and at most `deadline` long. A future
/// that panicked is dropped and never polled again.
pub async fn run<F: Future>(fut: F, deadline: Duration) -> Result<F::Output, Failure> {
    match rt::timeout(deadline, CatchPanic(Box::pin(fut))).await {
        Some(result) => result,
        None => Err(Failure::TimedOut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        futures_lite::future::block_on(f)
    }

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let out = block_on(CatchPanic(Box::pin(async {
            if true {
                panic!("boom {}", 7);
            }
            1
        })));
        assert_eq!(out, Err(Failure::Panicked("boom 7".into())));
        let out = block_on(CatchPanic(Box::pin(async { 5 })));
        assert_eq!(out, Ok(5));
    }

    #[test]
    fn failures_map_to_nakama_codes() {
        assert_eq!(
            Failure::Panicked("x".into()).to_error().code,
            Code::Internal
        );
        assert_eq!(Failure::TimedOut.to_error().code, Code::DeadlineExceeded);
    }
}

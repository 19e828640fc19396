//! Tournaments: Nakama's tournament calls over REST
//! (`http/handlers/tournaments.rs`) and game code's `Nk::tournament_*`,
//! both through [`service`].
//!
//! A tournament is a leaderboard (the `kairos-leaderboards` thread holds
//! its definition and the rank index of each period, as for any board)
//! plus the `tournament` row (`TournamentStore`), read from the store on
//! each call: joins and writes are decided there, in the transaction that
//! counts the player (see `kairos_core::tournament`). Records are listed
//! with the leaderboards' listing, in the period of the tournament's
//! active window.

pub mod service;

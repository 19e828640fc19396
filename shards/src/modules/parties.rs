//! `Nk`'s party listing, as Nakama's runtime has it (`PartyList`): the
//! listing clients get from `GET /v2/party` (`realtime::parties::list`),
//! with hidden parties when game code asks for them.

use kairos_core::error::{ApiError, ApiResult};
use kairos_schema::api;

use super::Nk;
use crate::realtime::parties;

impl Nk {
    /// Parties of every shard: at most `limit` (1 to 100), only open or
    /// closed ones if `open` says, hidden ones too if `show_hidden`, those
    /// `query` (Nakama's query language on `label.*`, `open`, `hidden`,
    /// `max_size`...) matches, after `cursor`. Returns them and the cursor
    /// to the rest, empty at the end.
    pub async fn party_list(
        &self,
        limit: usize,
        open: Option<bool>,
        show_hidden: bool,
        query: &str,
        cursor: &str,
    ) -> ApiResult<(Vec<api::Party>, String)> {
        if !(1..=100).contains(&limit) {
            return Err(ApiError::invalid("expects limit to be 1-100"));
        }
        let list = parties::list(&self.shard, limit, open, show_hidden, query, cursor).await?;
        Ok((list.parties, list.cursor))
    }
}

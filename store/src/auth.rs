//! Nakama's authenticate flow, once for every backend: find the account by
//! its identifier, check ban and password, or create it (retrying generated
//! usernames, and falling back to the winner when another request created
//! the same identifier concurrently).

use std::future::Future;

use kairos_core::account::{Authenticated, Identity};
use kairos_core::error::ApiResult;
use uuid::Uuid;

use crate::common::{self, Unique};

/// What a lookup by identifier found.
pub struct Found {
    pub id: Uuid,
    pub username: String,
    pub disabled: bool,
    pub password: Option<Vec<u8>>,
}

/// How an insert of a new account ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    Created(Uuid),
    /// A unique constraint refused the row; nothing was written.
    Taken(Unique),
}

/// The two backend operations the flow needs.
pub trait Accounts: Sync {
    /// The account holding `identity` (an email identity with an empty
    /// email is looked up by username).
    fn find<'a>(
        &'a self,
        identity: &'a Identity,
    ) -> impl Future<Output = ApiResult<Option<Found>>> + Send + 'a;

    /// Inserts the account and its identifier in one transaction.
    fn insert<'a>(
        &'a self,
        identity: &'a Identity,
        username: &'a str,
        password: Option<&'a [u8]>,
    ) -> impl Future<Output = ApiResult<Inserted>> + Send + 'a;
}

/// Attempts at a generated username before giving up.
const GENERATED_ATTEMPTS: usize = 5;

/// Authenticates `identity`, creating the account when `create` is set.
pub async fn authenticate<A: Accounts>(
    accounts: &A,
    identity: Identity,
    username: String,
    create: bool,
    hash_cost: u32,
) -> ApiResult<Authenticated> {
    authenticate_with(
        accounts,
        identity,
        username,
        create,
        hash_cost,
        common::generate_username,
    )
    .await
}

/// [`authenticate`] with `generate` making the usernames of accounts
/// created without one (tests force collisions with it).
pub async fn authenticate_with<A: Accounts>(
    accounts: &A,
    identity: Identity,
    username: String,
    create: bool,
    hash_cost: u32,
    mut generate: impl FnMut() -> String + Send,
) -> ApiResult<Authenticated> {
    let identity = common::normalize(identity);
    if let Some(found) = accounts.find(&identity).await? {
        return accept(found, &identity).await;
    }
    let login_by_username = matches!(&identity, Identity::Email { email, .. } if email.is_empty());
    if !create || login_by_username {
        return Err(common::user_not_found());
    }
    let hash = match &identity {
        Identity::Email { password, .. } => {
            Some(common::hash_password(password.clone(), hash_cost).await?)
        }
        _ => None,
    };
    let generated = username.is_empty();
    for _ in 0..GENERATED_ATTEMPTS {
        let name = if generated {
            generate()
        } else {
            username.clone()
        };
        match accounts.insert(&identity, &name, hash.as_deref()).await? {
            Inserted::Created(id) => {
                return Ok(Authenticated {
                    user_id: id,
                    username: name,
                    created: true,
                });
            }
            Inserted::Taken(Unique::Username) if generated => continue,
            Inserted::Taken(Unique::Username) => return Err(common::username_taken()),
            // Another request created this identifier meanwhile: that
            // account wins, with the same checks as any existing one.
            Inserted::Taken(kind) => {
                return match accounts.find(&identity).await? {
                    Some(found) => accept(found, &identity).await,
                    None => Err(common::internal(
                        "account creation",
                        format!("unique violation ({kind:?}) but no account found"),
                    )),
                };
            }
        }
    }
    Err(common::username_taken())
}

/// An existing account: banned is checked before the password, as Nakama does.
async fn accept(found: Found, identity: &Identity) -> ApiResult<Authenticated> {
    if found.disabled {
        return Err(common::banned());
    }
    if let Identity::Email { password, .. } = identity
        && !common::verify_password(password.clone(), found.password).await?
    {
        return Err(common::invalid_credentials());
    }
    Ok(Authenticated {
        user_id: found.id,
        username: found.username,
        created: false,
    })
}

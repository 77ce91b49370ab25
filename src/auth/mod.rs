//! Identity: API keys bound to a tenant and a role, checked on every RPC.

mod key;
mod layer;
mod role;
mod scope;

pub use key::{IssuedKey, issue as issue_key, parse as parse_key};
pub use layer::{AuthLayer, KeyRateLimit, Principal};
pub use role::{Action, Role, UnknownRole};
pub use scope::{KeyScope, ScopeError};

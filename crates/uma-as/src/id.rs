//! Identifiers, one type per kind of record, so that a client id can never
//! be passed where a resource id is wanted, nor a grant id where a policy id
//! is. On the wire, on disk and in the app's types each is the plain string
//! it always was (`serde(transparent)`), so nothing stored or sent changes.
//!
//! ```compile_fail
//! fn revoke(_: &uma_as::id::GrantId) {}
//! revoke(&uma_as::id::PolicyId::generate());
//! ```

use crate::secret::random_id;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id (128 bits, lowercase hex) for a record this
            /// server creates.
            pub fn generate() -> Self {
                $name(random_id())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        /// As the plain string: ids appear in error messages peers read.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// The id as a key in the store.
        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                self.0.as_bytes()
            }
        }

        impl From<$name> for serde_json::Value {
            fn from(id: $name) -> serde_json::Value {
                serde_json::Value::String(id.0)
            }
        }

        /// Lets maps keyed by this id be searched with a `&str` from a request.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

identifier!(
    /// A registered resource's `_id` (FedAuthz §3.2), assigned by this server.
    ResourceId
);
identifier!(
    /// An OAuth client's `client_id` (RFC 7591), assigned by this server.
    /// Resource servers are clients too.
    ClientId
);
identifier!(
    /// A grant: who may do what on which resource, and why.
    GrantId
);
identifier!(
    /// An access request waiting for, or decided by, the owner.
    RequestId
);
identifier!(
    /// One of the owner's policies.
    PolicyId
);

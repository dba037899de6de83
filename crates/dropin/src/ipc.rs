//! IPC and memory: kernel keyring handling.

use crate::keyword::keywords;

keywords! {
    /// `KeyringMode=`.
    KeyringMode(Directive::KeyringMode) {
        /// No special keyring.
        Inherit = "inherit",
        /// A new session keyring, not linked to the user keyring.
        Private = "private",
        /// A new session keyring, linked to the user keyring.
        Shared = "shared",
    }
    kind {
        table: ["inherit", "private", "shared"],
        yes: none,
        describe: "inherit, private or shared",
        samples: ["inherit", "private", "shared"],
    }
}

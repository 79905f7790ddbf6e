// Declaring the app's commands generates an `allow-<command>` permission for
// each and turns on the ACL check for app commands, so the window may call
// only what capabilities/main-window.json grants it.
const COMMANDS: &[&str] = &[
    "app_state",
    "create_wallet",
    "unlock_wallet",
    "save_settings",
    "watch_requests",
    "export_backup",
    "get_identity",
    "set_identity",
    "list_providers",
    "add_provider",
    "remove_provider",
    "import_registry",
    "registry_summary",
    "set_registry_key",
    "find_pensions",
    "list_offers",
    "accept_offer",
    "start_identity_sign_in",
    "identity_credential",
    "forget_identity_credential",
    "my_pensions",
    "list_resources",
    "list_clients",
    "list_requests",
    "approve_request",
    "deny_request",
    "list_policies",
    "add_policy",
    "remove_policy",
    "list_grants",
    "revoke_grant",
    "list_receipts",
    "list_credentials",
    "show_credential",
    "verify_credential",
    "list_audit",
    "verify_audit",
];

fn main() {
    let attributes = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    tauri_build::try_build(attributes).expect("tauri-build: config, capabilities and icons must be valid");
}

//! Fuzz the whole configuration pipeline (language front end and model)
//! with arbitrary bytes: it must never panic, hang or abort.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // Invalid UTF-8 is replaced, as the front end does for files.
    let text = String::from_utf8_lossy(data);
    let opts = config::LoadOptions {
        config_id: Some("lb1".to_string()),
        ..Default::default()
    };
    // A folder that does not exist: relative includes find nothing.
    let loaded = config::load_str(Path::new("/nonexistent/kars-fuzz/keepalived.conf"), &text, &opts);
    let _ = loaded.has_errors();
});

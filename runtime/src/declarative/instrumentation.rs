//! The file's `instrumentation/development` section, of which spanflow
//! reads what its adapters use: the query keys whose values URLs show
//! redacted (`general.sanitization.url.sensitive_query_parameters`, the
//! name the HTTP conventions give for overriding their list).

use super::node::{Node, Problem};
use super::settings::FileSettings;
use crate::diagnostics::Level;

pub(super) fn read(settings: &mut FileSettings, section: &Node<'_>) -> Result<(), Problem> {
    settings.note_unknown(section, &["general"]);
    let Some(general) = section.field("general")? else {
        return Ok(());
    };
    settings.note_unknown(&general, &["sanitization"]);
    let Some(sanitization) = general.field("sanitization")? else {
        return Ok(());
    };
    settings.note_unknown(&sanitization, &["url"]);
    let Some(url) = sanitization.field("url")? else {
        return Ok(());
    };
    settings.note_unknown(&url, &["sensitive_query_parameters"]);
    if let Some(keys) = url.field("sensitive_query_parameters")? {
        let mut listed = Vec::new();
        for key in keys.items()? {
            match key.scalar()? {
                Some(key) => listed.push(key),
                None => return Err(key.problem("a query key cannot be empty")),
            }
        }
        if listed.is_empty() {
            settings.note(
                Level::Info,
                format!("{}: empty: no query value is redacted", keys.path),
            );
        }
        settings.sensitive_query_parameters = Some(listed);
    }
    Ok(())
}

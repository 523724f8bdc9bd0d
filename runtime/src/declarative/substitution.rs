//! Environment variable references in a configuration file's values, as
//! the configuration data model defines them: `${NAME}`, `${env:NAME}`,
//! `${NAME:-default}`, and `$$` for a literal `$`. Written here because the
//! grammar is the specification's own (escapes are found first, left to
//! right, and what a variable holds is never substituted again), which no
//! general templating crate follows.

/// `input` with its references replaced by what `lookup` finds (a variable
/// unset or empty takes the default, or nothing); an invalid reference
/// (`${1X}`, `${X:?err}`) is an error naming it.
pub(super) fn substitute(
    input: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    if !input.contains('$') {
        return Ok(input.to_owned());
    }
    let mut output = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(escape) = rest.find("$$") {
        substitute_segment(&rest[..escape], &lookup, &mut output)?;
        output.push('$');
        rest = &rest[escape + 2..];
    }
    substitute_segment(rest, &lookup, &mut output)?;
    Ok(output)
}

/// Substitutes the references in a stretch of input holding no escape.
fn substitute_segment(
    mut segment: &str,
    lookup: &impl Fn(&str) -> Option<String>,
    output: &mut String,
) -> Result<(), String> {
    while let Some(start) = segment.find("${") {
        output.push_str(&segment[..start]);
        let after = &segment[start + 2..];
        let Some(end) = after.find('}') else {
            output.push_str(&segment[start..]);
            return Ok(());
        };
        let reference = &after[..end];
        if reference.is_empty() {
            output.push_str("${}");
        } else {
            let (name, default) = parse_reference(reference)
                .ok_or_else(|| format!("`${{{reference}}}` is not a valid reference: expected ${{NAME}}, ${{env:NAME}} or ${{NAME:-default}}"))?;
            match lookup(name).filter(|value| !value.is_empty()) {
                Some(value) => output.push_str(&value),
                None => output.push_str(default.unwrap_or("")),
            }
        }
        segment = &after[end + 1..];
    }
    output.push_str(segment);
    Ok(())
}

/// The variable's name and default of `[env:]NAME[:-DEFAULT]`.
fn parse_reference(reference: &str) -> Option<(&str, Option<&str>)> {
    let reference = reference.strip_prefix("env:").unwrap_or(reference);
    let (name, default) = match reference.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (reference, None),
    };
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_');
    let valid_name = starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let valid_default = default.is_none_or(|default| !default.contains('\n'));
    (valid_name && valid_default).then_some((name, default))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        let value = match name {
            "STRING_VALUE" => "value",
            "BOOL_VALUE" => "true",
            "INVALID_MAP_VALUE" => "value\nkey:value",
            "REPLACE_ME" => "${DO_NOT_REPLACE_ME}",
            "DO_NOT_REPLACE_ME" => "Never use this value",
            "VALUE_WITH_ESCAPE" => "value$$",
            "EMPTY" => "",
            _ => return None,
        };
        Some(value.to_owned())
    }

    fn substituted(input: &str) -> String {
        substitute(input, env).unwrap()
    }

    /// The rows of the configuration data model's table.
    #[test]
    fn follows_the_specification_table() {
        for (input, expected) in [
            ("${STRING_VALUE}", "value"),
            ("${BOOL_VALUE}", "true"),
            ("${env:STRING_VALUE}", "value"),
            ("${INVALID_MAP_VALUE}", "value\nkey:value"),
            ("foo ${STRING_VALUE} ${BOOL_VALUE}", "foo value true"),
            ("${UNDEFINED_KEY}", ""),
            ("${UNDEFINED_KEY:-fallback}", "fallback"),
            ("${EMPTY:-fallback}", "fallback"),
            ("${REPLACE_ME}", "${DO_NOT_REPLACE_ME}"),
            ("${UNDEFINED_KEY:-${STRING_VALUE}}", "${STRING_VALUE}"),
            ("$${STRING_VALUE}", "${STRING_VALUE}"),
            ("$$${STRING_VALUE}", "$value"),
            ("$$$${STRING_VALUE}", "$${STRING_VALUE}"),
            ("$${STRING_VALUE:-fallback}", "${STRING_VALUE:-fallback}"),
            (
                "$${STRING_VALUE:-${STRING_VALUE}}",
                "${STRING_VALUE:-value}",
            ),
            (
                "${UNDEFINED_KEY:-$${UNDEFINED_KEY}}",
                "${UNDEFINED_KEY:-${UNDEFINED_KEY}}",
            ),
            ("${VALUE_WITH_ESCAPE}", "value$$"),
            ("a $$ b", "a $ b"),
            ("a $ b", "a $ b"),
            (
                "http://${UNDEFINED_KEY:-localhost:4318}/v1/traces",
                "http://localhost:4318/v1/traces",
            ),
            ("${unclosed", "${unclosed"),
        ] {
            assert_eq!(substituted(input), expected, "{input}");
        }
    }

    #[test]
    fn invalid_references_are_errors_that_name_them() {
        for input in [
            "${STRING_VALUE:?error}",
            "${1API_KEY}",
            "${API_$KEY}",
            "x ${a b}",
        ] {
            let error = substitute(input, env).unwrap_err();
            assert!(
                error.contains("is not a valid reference"),
                "{input}: {error}"
            );
        }
    }

    proptest::proptest! {
        /// Any text: no panic, and text without `$` comes back as it was.
        #[test]
        fn any_text_is_substituted_or_refused_without_panicking(text in "\\PC*") {
            let result = substitute(&text, env);
            if !text.contains('$') {
                proptest::prop_assert_eq!(result, Ok(text));
            }
        }

        #[test]
        fn references_and_escapes_in_any_mix_do_not_panic(
            parts in proptest::collection::vec("\\$|\\$\\$|\\$\\{|\\}|:-|env:|[A-Z_]{1,3}|x", 0..12)
        ) {
            let _ = substitute(&parts.concat(), env);
        }
    }
}

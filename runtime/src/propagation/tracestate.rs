//! The `tracestate` header of W3C Trace Context (Level 2).

use opentelemetry::trace::TraceState;

/// The most list members a `tracestate` may carry.
pub(crate) const MAX_MEMBERS: usize = 32;

/// Parses every `tracestate` header line, in order, as one list.
///
/// Spaces and tabs around members are ignored, and so are empty members.
/// Keys and values must follow the specification's grammar; a list with an
/// invalid member, a repeated key or more than 32 members is dropped whole
/// (a vendor's entries are only meaningful complete), which is the empty
/// trace state.
pub(crate) fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> TraceState {
    let mut members: Vec<(&str, &str)> = Vec::new();
    for line in lines {
        for member in line.split(',') {
            let member = member.trim_matches([' ', '\t']);
            if member.is_empty() {
                continue;
            }
            let Some((key, value)) = member.split_once('=') else {
                return TraceState::NONE;
            };
            if !valid_key(key)
                || !valid_value(value)
                || members.iter().any(|(seen, _)| *seen == key)
                || members.len() == MAX_MEMBERS
            {
                return TraceState::NONE;
            }
            members.push((key, value));
        }
    }
    if members.is_empty() {
        return TraceState::NONE;
    }
    TraceState::from_key_value(members).unwrap_or(TraceState::NONE)
}

/// `simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )`
/// `multi-tenant-key = tenant-id "@" system-id`, where
/// `tenant-id = ( lcalpha / DIGIT ) 0*240( .. )` and
/// `system-id = lcalpha 0*13( .. )`.
pub(crate) fn valid_key(key: &str) -> bool {
    let key = key.as_bytes();
    match key.iter().position(|&byte| byte == b'@') {
        None => {
            key.len() <= 256
                && key.first().is_some_and(u8::is_ascii_lowercase)
                && key.iter().all(|&b| key_char(b))
        }
        Some(at) => {
            let (tenant, system) = (&key[..at], &key[at + 1..]);
            (1..=241).contains(&tenant.len())
                && tenant
                    .first()
                    .is_some_and(|&b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && tenant.iter().all(|&b| key_char(b))
                && (1..=14).contains(&system.len())
                && system.first().is_some_and(u8::is_ascii_lowercase)
                && system.iter().all(|&b| key_char(b))
        }
    }
}

fn key_char(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'_' | b'-' | b'*' | b'/')
}

/// `value = 0*255(chr) nblk-chr`, `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`,
/// `chr = %x20 / nblk-chr`.
pub(crate) fn valid_value(value: &str) -> bool {
    let value = value.as_bytes();
    let non_blank = |byte: u8| matches!(byte, 0x21..=0x2b | 0x2d..=0x3c | 0x3e..=0x7e);
    (1..=256).contains(&value.len())
        && value.last().copied().is_some_and(non_blank)
        && value.iter().all(|&byte| byte == b' ' || non_blank(byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(lines: &[&str]) -> String {
        parse(lines.iter().copied()).header()
    }

    #[test]
    fn lines_are_merged_in_order_and_whitespace_and_empty_members_ignored() {
        assert_eq!(header(&["a=1, \tb=2", "c=3"]), "a=1,b=2,c=3");
        assert_eq!(header(&["a=1,,  ,b=2", ""]), "a=1,b=2");
        assert_eq!(header(&[" , "]), "");
    }

    #[test]
    fn keys_follow_the_grammar() {
        let cases: &[(&str, bool)] = &[
            ("congo", true),
            ("rojo", true),
            ("a0_-*/", true),
            ("0abc", false),
            ("Congo", false),
            ("tenant@system", true),
            ("0tenant@vendor", true),
            ("t@0vendor", false),
            ("t@", false),
            ("@vendor", false),
            ("t@abcdefghijklmn", true),
            ("t@abcdefghijklmno", false),
            ("a@b@c", false),
            ("", false),
            ("with space", false),
        ];
        for (key, valid) in cases {
            assert_eq!(valid_key(key), *valid, "{key:?}");
        }
        assert!(valid_key(&"a".repeat(256)));
        assert!(!valid_key(&"a".repeat(257)));
        assert!(valid_key(&format!("{}@v", "t".repeat(241))));
        assert!(!valid_key(&format!("{}@v", "t".repeat(242))));
    }

    #[test]
    fn values_follow_the_grammar() {
        let cases: &[(&str, bool)] = &[
            ("00f067aa0ba902b7", true),
            ("t61rcWkgMzE", true),
            ("with inner space", true),
            (" leading", true),
            ("trailing ", false),
            ("a,b", false),
            ("a=b", false),
            ("", false),
            ("tab\there", false),
            ("é", false),
        ];
        for (value, valid) in cases {
            assert_eq!(valid_value(value), *valid, "{value:?}");
        }
        assert!(valid_value(&"v".repeat(256)));
        assert!(!valid_value(&"v".repeat(257)));
    }

    #[test]
    fn one_bad_member_drops_the_whole_list() {
        assert_eq!(header(&["a=1,B=2"]), "");
        assert_eq!(header(&["a=1,b"]), "");
        assert_eq!(header(&["a=1,a=2"]), "", "a repeated key");
    }

    #[test]
    fn thirty_two_members_pass_and_thirty_three_do_not() {
        let list = |n: usize| {
            (0..n)
                .map(|i| format!("k{i}=v"))
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(parse([list(32).as_str()]).header(), list(32));
        assert_eq!(parse([list(33).as_str()]).header(), "");
    }
}

//! The `traceparent` header of W3C Trace Context (Level 2).

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

/// The `sampled` flag.
pub(crate) const SAMPLED: u8 = 0x01;
/// The `random` flag (Level 2): the trace id's rightmost 56 bits are random.
pub const RANDOM_FLAG: u8 = 0x02;
/// The flags a receiver keeps; every other bit is cleared.
const KNOWN_FLAGS: u8 = SAMPLED | RANDOM_FLAG;

/// `00-` + 32 + `-` + 16 + `-` + 2.
const VERSION_00_LEN: usize = 55;

/// The ids and flags of a valid `traceparent`, or `None` for anything the
/// specification calls invalid.
///
/// * surrounding spaces and tabs are ignored;
/// * version `00` must be exactly 55 characters of lowercase hex in the
///   2-32-16-2 shape; a higher version is read if its first four fields parse
///   and whatever follows starts with `-`; version `ff` is invalid;
/// * an all-zero trace id or parent id is invalid;
/// * only the sampled and random flags are kept.
pub(crate) fn parse(header: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let bytes = trim(header.as_bytes());
    if bytes.len() < VERSION_00_LEN {
        return None;
    }
    let version = hex_byte(bytes[0], bytes[1])?;
    if version == 0xff
        || (version == 0 && bytes.len() != VERSION_00_LEN)
        || (bytes.len() > VERSION_00_LEN && bytes[VERSION_00_LEN] != b'-')
        || bytes[2] != b'-'
        || bytes[35] != b'-'
        || bytes[52] != b'-'
    {
        return None;
    }
    let trace_id = hex_u128(&bytes[3..35])?;
    let span_id = hex_u64(&bytes[36..52])?;
    let flags = hex_byte(bytes[53], bytes[54])?;
    if trace_id == 0 || span_id == 0 {
        return None;
    }
    Some((
        TraceId::from(trace_id),
        SpanId::from(span_id),
        TraceFlags::new(flags & KNOWN_FLAGS),
    ))
}

/// `header` without surrounding spaces and tabs. Byte-wise, since both are
/// ASCII: `str::trim_matches` decodes characters, a tenth of a parse.
#[inline]
fn trim(mut header: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = header {
        header = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = header {
        header = rest;
    }
    header
}

/// The version-00 header for these ids; unknown flag bits are cleared.
pub(crate) fn encode(trace_id: TraceId, span_id: SpanId, flags: TraceFlags) -> String {
    let trace_id = u128::from_be_bytes(trace_id.to_bytes());
    let span_id = u64::from_be_bytes(span_id.to_bytes());
    let mut out = [0u8; VERSION_00_LEN];
    out[..3].copy_from_slice(b"00-");
    out[3..11].copy_from_slice(&hex8_digits((trace_id >> 96) as u32));
    out[11..19].copy_from_slice(&hex8_digits((trace_id >> 64) as u32));
    out[19..27].copy_from_slice(&hex8_digits((trace_id >> 32) as u32));
    out[27..35].copy_from_slice(&hex8_digits(trace_id as u32));
    out[35] = b'-';
    out[36..44].copy_from_slice(&hex8_digits((span_id >> 32) as u32));
    out[44..52].copy_from_slice(&hex8_digits(span_id as u32));
    out[52] = b'-';
    let flags = flags.to_u8() & KNOWN_FLAGS;
    out[53] = HEX_DIGITS[usize::from(flags >> 4)];
    out[54] = HEX_DIGITS[usize::from(flags & 0x0f)];
    // Every byte written above is ASCII, so this never falls back.
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The eight lowercase hex digits of `value`, most significant first, made
/// in one word: a table lookup per digit was 300 of an inject's 1,410
/// instructions (callgrind, `profile_spans inject`).
#[inline]
fn hex8_digits(value: u32) -> [u8; 8] {
    // One nibble per byte, the lowest nibble in the lowest byte ...
    let spread = u64::from(value);
    let spread = (spread | spread << 16) & 0x0000_ffff_0000_ffff;
    let spread = (spread | spread << 8) & 0x00ff_00ff_00ff_00ff;
    let spread = (spread | spread << 4) & 0x0f0f_0f0f_0f0f_0f0f;
    // ... then each nibble to its digit: '0' + n, and 'a' - 10 + n from 10
    // on (n + 6 reaches 16 exactly then). No byte exceeds 0x66, so nothing
    // carries into the next.
    let letters = ((spread + 0x06 * ONES) >> 4) & ONES;
    let digits = spread + u64::from(b'0') * ONES + letters * u64::from(b'a' - b'0' - 10);
    // The most significant nibble's digit comes first.
    digits.to_be_bytes()
}

/// Digit values of lowercase hex (the specification does not allow
/// `A`-`F`); `INVALID` elsewhere: the version and the flags.
const INVALID: u8 = 0xf0;
const HEX_VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut digit = 0;
    while digit < 16 {
        table[HEX_DIGITS[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

#[inline]
fn hex_byte(high: u8, low: u8) -> Option<u8> {
    let (high, low) = (HEX_VALUES[usize::from(high)], HEX_VALUES[usize::from(low)]);
    ((high | low) & INVALID == 0).then_some(high << 4 | low)
}

/// Two 64-bit halves.
#[inline]
fn hex_u128(digits: &[u8]) -> Option<u128> {
    let (high, low) = digits.split_at(digits.len() / 2);
    Some(u128::from(hex_u64(high)?) << 64 | u128::from(hex_u64(low)?))
}

/// Sixteen lowercase hex digits, eight at a time.
#[inline]
fn hex_u64(digits: &[u8]) -> Option<u64> {
    let (high, low) = digits.split_first_chunk::<8>()?;
    let low: &[u8; 8] = low.try_into().ok()?;
    let high = hex8(u64::from_le_bytes(*high))?;
    let low = hex8(u64::from_le_bytes(*low))?;
    Some(u64::from(high) << 32 | u64::from(low))
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The value of eight lowercase hex digits read as one little-endian word
/// (first digit in the lowest byte), all eight checked and decoded at once:
/// a table lookup per digit cost a fifth of an extract (callgrind).
#[inline]
fn hex8(chunk: u64) -> Option<u32> {
    // With every byte below 0x80, the byte-wise sums and differences below
    // neither carry nor borrow into the next byte.
    if chunk & HIGH_BITS != 0 {
        return None;
    }
    let at_least = |low: u8| chunk + u64::from(0x80 - low) * ONES;
    let at_most = |high: u8| u64::from(0x80 + high) * ONES - chunk;
    let digit = at_least(b'0') & at_most(b'9');
    let letter = at_least(b'a') & at_most(b'f');
    if (digit | letter) & HIGH_BITS != HIGH_BITS {
        return None;
    }
    // '0'..'9' keep their low nibble; 'a'..'f' (0x61..0x66) add 9 to theirs.
    let nibbles = (chunk & (0x0f * ONES)) + ((letter & HIGH_BITS) >> 7) * 9;
    // Pack the eight nibbles, first digit most significant.
    let pairs = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff_00ff_00ff_00ff;
    let quads = ((pairs << 8) | (pairs >> 16)) & 0x0000_ffff_0000_ffff;
    Some((((quads << 16) | (quads >> 32)) & 0xffff_ffff) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn table_from_the_specification() {
        let ok = |header: &str| parse(header).is_some();
        let cases: &[(&str, bool, &str)] = &[
            (VALID, true, "the specification's example"),
            (
                " \t00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\t ",
                true,
                "spaces and tabs around",
            ),
            (
                "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
                false,
                "uppercase hex",
            ),
            (
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
                false,
                "version 00 with more after",
            ),
            (
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
                false,
                "one-digit flags",
            ),
            (
                "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-0100",
                false,
                "short trace id",
            ),
            (
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-001",
                false,
                "short parent id",
            ),
            (
                "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                false,
                "all-zero trace id",
            ),
            (
                "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
                false,
                "all-zero parent id",
            ),
            (
                "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                false,
                "version ff",
            ),
            (
                "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                false,
                "version not hex",
            ),
            (
                "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                true,
                "higher version, nothing after",
            ),
            (
                "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds",
                true,
                "higher version, more after a dash",
            ),
            (
                "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01.what",
                false,
                "higher version, more after no dash",
            ),
            (
                "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                false,
                "wrong separator",
            ),
            (
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x",
                false,
                "flags not hex",
            ),
            ("", false, "empty"),
            (
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01é",
                false,
                "non-ASCII after",
            ),
        ];
        for (header, valid, why) in cases {
            assert_eq!(ok(header), *valid, "{why}: {header:?}");
        }
    }

    #[test]
    fn flags_keep_sampled_and_random_only() {
        let flags = |header: &str| parse(header).map(|(_, _, flags)| flags.to_u8());
        assert_eq!(flags(VALID), Some(0x01));
        assert_eq!(flags(&VALID.replace("-01", "-03")), Some(0x03));
        assert_eq!(flags(&VALID.replace("-01", "-02")), Some(0x02));
        assert_eq!(flags(&VALID.replace("-01", "-ff")), Some(0x03));
        assert_eq!(flags(&VALID.replace("-01", "-00")), Some(0x00));
    }

    #[test]
    fn higher_versions_are_re_emitted_as_00() {
        let (trace_id, span_id, flags) =
            parse("cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-x").unwrap();
        assert_eq!(
            encode(trace_id, span_id, flags),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03"
        );
    }

    #[test]
    fn encoding_round_trips_and_clears_unknown_flags() {
        let (trace_id, span_id, _) = parse(VALID).unwrap();
        assert_eq!(encode(trace_id, span_id, TraceFlags::new(0x01)), VALID);
        assert!(encode(trace_id, span_id, TraceFlags::new(0xff)).ends_with("-03"));
    }

    /// The word-at-a-time encoder against the obvious one, digit by digit.
    #[test]
    fn eight_digits_are_written_at_once_as_one_at_a_time() {
        let one_at_a_time = |value: u32| -> [u8; 8] {
            let mut digits = [0u8; 8];
            for (index, digit) in digits.iter_mut().enumerate() {
                *digit = HEX_DIGITS[(value >> (28 - 4 * index) & 0x0f) as usize];
            }
            digits
        };
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = state as u32;
            assert_eq!(hex8_digits(value), one_at_a_time(value), "{value:#x}");
        }
        for edge in [
            0,
            u32::MAX,
            0x0123_4567,
            0x89ab_cdef,
            0x9a9a_9a9a,
            0xa0a0_a0a0,
        ] {
            assert_eq!(hex8_digits(edge), one_at_a_time(edge), "{edge:#x}");
        }
    }

    /// The word-at-a-time decoder against the obvious one, digit by digit.
    #[test]
    fn eight_digits_at_once_agree_with_one_at_a_time() {
        let one_at_a_time = |digits: &[u8; 8]| -> Option<u32> {
            let mut value = 0u32;
            for &digit in digits {
                let nibble = HEX_DIGITS.iter().position(|&known| known == digit)?;
                value = value << 4 | nibble as u32;
            }
            Some(value)
        };
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let alphabet: Vec<u8> = (0..=255).collect();
        for round in 0..200_000 {
            let mut digits = [0u8; 8];
            for digit in &mut digits {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Mostly hex digits, sometimes any byte at all.
                *digit = if round % 4 == 0 {
                    alphabet[(state % 256) as usize]
                } else {
                    HEX_DIGITS[(state % 16) as usize]
                };
            }
            assert_eq!(
                hex8(u64::from_le_bytes(digits)),
                one_at_a_time(&digits),
                "{digits:?}"
            );
        }
        for edge in [
            b"00000000",
            b"ffffffff",
            b"/0000000",
            b":0000000",
            b"`0000000",
            b"g0000000",
            b"F0000000",
        ] {
            assert_eq!(
                hex8(u64::from_le_bytes(*edge)),
                one_at_a_time(edge),
                "{edge:?}"
            );
        }
    }
}

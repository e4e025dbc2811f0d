//! Adapter profiles: what the planner needs to know of a device (compute units,
//! subgroup sizes, workgroup limits, resident invocations, f16, bandwidth, clock,
//! launch cost), for the adapter in hand or for one the machine does not have.
//!
//! A leaf module: it imports nothing from the crate. Bundled profiles (from public
//! specifications, each naming its source) live in `src/gpu/profiles/*.json`; a
//! profile file has the same fields. The profile of a real adapter comes from its
//! wgpu limits and a small vendor/device table ([`AdapterProfile::of_adapter`]).

use serde::{Deserialize, Serialize};

/// Why a profile could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Neither a bundled name nor a readable file.
    #[error(
        "adapter profile {name:?}: not a bundled profile ({bundled}) nor a readable file: {source}"
    )]
    Unknown {
        /// The name or path given.
        name: String,
        /// The bundled names.
        bundled: String,
        /// Why reading it as a file failed.
        source: std::io::Error,
    },
    /// The file is not a profile's JSON.
    #[error("adapter profile {name:?}: {source}")]
    Json {
        /// The name or path given.
        name: String,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A field a planner cannot do without is out of range.
    #[error("adapter profile {name:?}: {source}")]
    Field {
        /// The name or path given.
        name: String,
        /// Which field, and why.
        source: ProfileFieldError,
    },
}

/// A profile field out of the range a planner can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileFieldError {
    /// `compute_units` is zero.
    #[error("compute_units must be at least 1")]
    ComputeUnits,
    /// `max_invocations_per_workgroup` is below WebGPU's minimum.
    #[error("max_invocations_per_workgroup must be at least 64")]
    Invocations,
    /// `workgroup_storage_bytes` is below WebGPU's minimum.
    #[error("workgroup_storage_bytes must be at least 4096")]
    WorkgroupStorage,
    /// The subgroup sizes are not powers of two with min <= max.
    #[error("subgroup_min and subgroup_max must be powers of two, min <= max")]
    Subgroups,
    /// A rate or cost is negative or not finite.
    #[error("{0} must be a finite number >= 0")]
    NotFinite(&'static str),
}

/// What the planner knows of one adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterProfile {
    /// Short name (`nvidia-h100`), or the adapter's name for a real one.
    pub name: String,
    /// One line: the device and API.
    #[serde(default)]
    pub description: String,
    /// Where the numbers come from.
    pub source: String,
    /// A software adapter (a CPU rasterizer such as lavapipe): planned as a CPU,
    /// few large workgroups, never by a GPU's rules.
    pub software: bool,
    /// Compute units (NVIDIA SMs, AMD CUs, Intel EUs, Apple/Mali cores; CPU
    /// threads for a software adapter).
    pub compute_units: u32,
    /// Smallest subgroup (warp, wave, SIMD group) size; 0 when unknown.
    pub subgroup_min: u32,
    /// Largest subgroup size; 0 when unknown.
    pub subgroup_max: u32,
    /// Most invocations in one workgroup.
    pub max_invocations_per_workgroup: u32,
    /// Largest workgroup memory in bytes.
    pub workgroup_storage_bytes: u32,
    /// Invocations one compute unit keeps resident at once.
    pub resident_invocations_per_unit: u32,
    /// f16 storage and math (SHADER_F16).
    pub f16: bool,
    /// Memory bandwidth in GB/s (0: unknown).
    pub memory_bandwidth_gbps: f64,
    /// Shader clock in MHz (0: unknown).
    pub clock_mhz: f64,
    /// Host-visible cost of one dependent dispatch in microseconds (0: unknown).
    pub launch_us: f64,
}

/// The bundled profiles: name and JSON text.
const BUNDLED: [(&str, &str); 7] = [
    ("nvidia-h100", include_str!("profiles/nvidia-h100.json")),
    ("nvidia-h200", include_str!("profiles/nvidia-h200.json")),
    ("apple-m2", include_str!("profiles/apple-m2.json")),
    ("intel-xe", include_str!("profiles/intel-xe.json")),
    ("amd-rdna3", include_str!("profiles/amd-rdna3.json")),
    ("adreno-740", include_str!("profiles/adreno-740.json")),
    ("mali-g715", include_str!("profiles/mali-g715.json")),
];

/// What wgpu says of an adapter, for [`AdapterProfile::of_adapter`].
#[derive(Debug, Clone, Default)]
pub struct AdapterFacts {
    /// Adapter name.
    pub name: String,
    /// One line describing it.
    pub description: String,
    /// PCI vendor id (or the backend's vendor id).
    pub vendor: u32,
    /// PCI device id.
    pub device: u32,
    /// wgpu's `DeviceType::Cpu`.
    pub software: bool,
    /// Subgroup sizes the adapter reports.
    pub subgroup_min: u32,
    /// Largest subgroup size.
    pub subgroup_max: u32,
    /// `max_compute_invocations_per_workgroup`.
    pub max_invocations_per_workgroup: u32,
    /// `max_compute_workgroup_storage_size`.
    pub workgroup_storage_bytes: u32,
    /// SHADER_F16 is enabled.
    pub f16: bool,
    /// CPU threads of this machine (the compute units of a software adapter).
    pub cpu_threads: u32,
}

/// Known devices by PCI vendor and device id: the bundled profile they match.
const DEVICES: [(u32, u32, &str); 5] = [
    (0x10de, 0x2330, "nvidia-h100"), // H100 SXM5 80 GB
    (0x10de, 0x2331, "nvidia-h100"), // H100 PCIe
    (0x10de, 0x2339, "nvidia-h100"), // H100 SXM5 94 GB
    (0x10de, 0x2321, "nvidia-h100"), // H100 NVL
    (0x10de, 0x2335, "nvidia-h200"), // H200 SXM 141 GB
];

/// Per vendor, when the device is not in [`DEVICES`]: a conservative guess of
/// compute units and resident invocations per unit.
const VENDORS: [(u32, &str, u32, u32); 6] = [
    (0x10de, "NVIDIA", 32, 1536),
    (0x1002, "AMD", 32, 1024),
    (0x8086, "Intel", 32, 112),
    (0x106b, "Apple", 8, 1024),
    (0x5143, "Qualcomm", 4, 1024),
    (0x13b5, "Arm", 8, 1024),
];

impl AdapterProfile {
    /// The names of the bundled profiles.
    pub fn bundled_names() -> impl Iterator<Item = &'static str> {
        BUNDLED.iter().map(|(n, _)| *n)
    }

    /// The bundled profile `name`, if there is one.
    pub fn bundled(name: &str) -> Option<AdapterProfile> {
        let (_, text) = BUNDLED.iter().find(|(n, _)| *n == name)?;
        Self::parse(name, text).ok()
    }

    /// A bundled profile by name, or a profile file (JSON with the fields of
    /// [`AdapterProfile`]).
    pub fn load(spec: &str) -> Result<AdapterProfile, ProfileError> {
        if let Some(p) = Self::bundled(spec) {
            return Ok(p);
        }
        let text = std::fs::read_to_string(spec).map_err(|source| ProfileError::Unknown {
            name: spec.to_string(),
            bundled: Self::bundled_names().collect::<Vec<_>>().join(", "),
            source,
        })?;
        Self::parse(spec, &text)
    }

    /// Parse and check the profile JSON `text` (`name` for errors).
    pub fn parse(name: &str, text: &str) -> Result<AdapterProfile, ProfileError> {
        let p: AdapterProfile =
            serde_json::from_str(text).map_err(|source| ProfileError::Json {
                name: name.to_string(),
                source,
            })?;
        p.check().map_err(|source| ProfileError::Field {
            name: name.to_string(),
            source,
        })?;
        Ok(p)
    }

    /// The fields a planner cannot do without are positive and consistent.
    pub fn check(&self) -> Result<(), ProfileFieldError> {
        if self.compute_units == 0 {
            return Err(ProfileFieldError::ComputeUnits);
        }
        if self.max_invocations_per_workgroup < 64 {
            return Err(ProfileFieldError::Invocations);
        }
        if self.workgroup_storage_bytes < 4096 {
            return Err(ProfileFieldError::WorkgroupStorage);
        }
        if self.subgroup_min > self.subgroup_max
            || (self.subgroup_min != 0 && !self.subgroup_min.is_power_of_two())
            || (self.subgroup_max != 0 && !self.subgroup_max.is_power_of_two())
        {
            return Err(ProfileFieldError::Subgroups);
        }
        for (v, what) in [
            (self.memory_bandwidth_gbps, "memory_bandwidth_gbps"),
            (self.clock_mhz, "clock_mhz"),
            (self.launch_us, "launch_us"),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(ProfileFieldError::NotFinite(what));
            }
        }
        Ok(())
    }

    /// The profile of a real adapter: its own limits and subgroup sizes, the rest
    /// from the bundled profile its PCI id matches, else a per-vendor guess (the
    /// source says which). A software adapter has the machine's CPU threads as
    /// compute units.
    pub fn of_adapter(f: &AdapterFacts) -> AdapterProfile {
        let matched = DEVICES
            .iter()
            .find(|(v, d, _)| *v == f.vendor && *d == f.device)
            .and_then(|(_, _, n)| Self::bundled(n));
        let vendor = VENDORS.iter().find(|(v, ..)| *v == f.vendor);
        let (compute_units, resident, bandwidth, clock, launch, source) = if f.software {
            (
                f.cpu_threads.max(1),
                f.max_invocations_per_workgroup,
                0.0,
                0.0,
                0.0,
                "a software adapter: compute units are this machine's CPU threads".to_string(),
            )
        } else if let Some(m) = &matched {
            (
                m.compute_units,
                m.resident_invocations_per_unit,
                m.memory_bandwidth_gbps,
                m.clock_mhz,
                m.launch_us,
                format!(
                    "PCI id {:04x}:{:04x} matches the bundled profile {} ({})",
                    f.vendor, f.device, m.name, m.source
                ),
            )
        } else if let Some((_, who, units, resident)) = vendor {
            (
                *units,
                *resident,
                0.0,
                0.0,
                0.0,
                format!(
                    "{who} device {:04x} is not in the device table: compute units and resident invocations are a per-vendor guess",
                    f.device
                ),
            )
        } else {
            (
                16,
                1024,
                0.0,
                0.0,
                0.0,
                format!(
                    "vendor {:04x} is not in the vendor table: compute units and resident invocations are a guess",
                    f.vendor
                ),
            )
        };
        AdapterProfile {
            name: f.name.clone(),
            description: f.description.clone(),
            source: format!("the adapter's wgpu limits; {source}"),
            software: f.software,
            compute_units,
            subgroup_min: f.subgroup_min,
            subgroup_max: f.subgroup_max.max(f.subgroup_min),
            max_invocations_per_workgroup: f.max_invocations_per_workgroup,
            workgroup_storage_bytes: f.workgroup_storage_bytes,
            resident_invocations_per_unit: resident,
            f16: f.f16,
            memory_bandwidth_gbps: bandwidth,
            clock_mhz: clock,
            launch_us: launch,
        }
    }

    /// Invocations the whole device keeps resident at once.
    pub fn resident_invocations(&self) -> u64 {
        u64::from(self.compute_units) * u64::from(self.resident_invocations_per_unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_profile_parses_names_its_source_and_is_a_gpu() {
        for name in AdapterProfile::bundled_names() {
            let p = AdapterProfile::bundled(name).unwrap_or_else(|| panic!("{name} parses"));
            assert_eq!(p.name, name);
            assert!(p.source.len() > 40, "{name} names its source");
            assert!(!p.software && p.f16 && p.compute_units > 0, "{name}");
            assert!(p.memory_bandwidth_gbps > 0.0 && p.clock_mhz > 0.0, "{name}");
        }
        let h100 = AdapterProfile::bundled("nvidia-h100").unwrap();
        assert_eq!((h100.compute_units, h100.subgroup_min), (132, 32));
        assert_eq!(h100.resident_invocations(), 132 * 2048);
    }

    #[test]
    fn files_load_and_bad_ones_are_refused_with_the_reason() {
        let dir = std::env::temp_dir().join(format!("tflite-wgpu-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut p = AdapterProfile::bundled("mali-g715").unwrap();
        p.name = "mine".into();
        let good = dir.join("mine.json");
        std::fs::write(&good, serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(AdapterProfile::load(good.to_str().unwrap()).unwrap(), p);
        p.compute_units = 0;
        let bad = dir.join("bad.json");
        std::fs::write(&bad, serde_json::to_string(&p).unwrap()).unwrap();
        let e = AdapterProfile::load(bad.to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("compute_units"), "{e}");
        let e = AdapterProfile::load("no-such-gpu").unwrap_err();
        assert!(e.to_string().contains("nvidia-h100"), "{e}");
        std::fs::write(&bad, r#"{"name": "x", "typo": 1}"#).unwrap();
        assert!(AdapterProfile::load(bad.to_str().unwrap()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_real_adapter_takes_its_limits_and_the_table() {
        let facts = AdapterFacts {
            name: "NVIDIA H100 80GB HBM3".into(),
            vendor: 0x10de,
            device: 0x2330,
            subgroup_min: 32,
            subgroup_max: 32,
            max_invocations_per_workgroup: 1024,
            workgroup_storage_bytes: 49152,
            f16: true,
            cpu_threads: 8,
            ..Default::default()
        };
        let p = AdapterProfile::of_adapter(&facts);
        assert_eq!((p.compute_units, p.clock_mhz), (132, 1980.0));
        assert!(p.source.contains("nvidia-h100"));
        let lavapipe = AdapterProfile::of_adapter(&AdapterFacts {
            software: true,
            vendor: 0x10005,
            max_invocations_per_workgroup: 1024,
            workgroup_storage_bytes: 32768,
            cpu_threads: 2,
            ..facts.clone()
        });
        assert!(lavapipe.software);
        assert_eq!(lavapipe.compute_units, 2);
        let other = AdapterProfile::of_adapter(&AdapterFacts {
            device: 0x2684,
            ..facts
        });
        assert_eq!(other.compute_units, 32);
        assert!(other.source.contains("guess"));
        assert!(other.check().is_ok());
    }
}

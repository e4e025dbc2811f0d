//! Precision plans: which nodes of an fp16 run stay in fp32, saved as JSON so a
//! choice made once (by `validate --auto-mixed --save-plan`, or by hand) is reused
//! by `run`, `bench`, `validate`, the API and the LiteRT delegate.
//!
//! ```json
//! {
//!   "model": "face_landmark.tflite",
//!   "model_sha256": "9c1f...",
//!   "fp32_nodes": [12, 40],
//!   "fp32_ops": ["SUM"],
//!   "fp32_tensors": ["^conv_landmarks.*"]
//! }
//! ```
//!
//! Nodes are selected by index (of the prepared graph, as `inspect` prints them),
//! by op name, or by a regular expression over the names of the tensors a node
//! writes; the selections are resolved against the prepared graph at load. A plan
//! that carries `model_sha256` (the SHA-256 of the `.tflite` file's bytes) is
//! refused for any other model.

use crate::error::{Error, Result};
use crate::graph::Subgraph;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which nodes of an fp16 run stay in fp32, and the model they were chosen for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrecisionPlan {
    /// The model's display name when the plan was written (informational).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// SHA-256 of the model file's bytes, lowercase hex; absent: any model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_sha256: Option<String>,
    /// Nodes of the prepared graph the plan was written for; a graph with another
    /// node count is refused when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_nodes: Option<usize>,
    /// Node indices of the prepared graph kept in fp32.
    pub fp32_nodes: Vec<usize>,
    /// Op names (as `inspect` prints them, e.g. "SUM") whose nodes stay in fp32.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fp32_ops: Vec<String>,
    /// Regular expressions over output tensor names: a node writing a matching
    /// tensor stays in fp32.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fp32_tensors: Vec<String>,
    /// The thresholds the plan met when it was searched for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<PlanThresholds>,
    /// What the search found (evaluations, fp32 FLOP share, per-node reasons).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<serde_json::Value>,
}

/// The accuracy limits a saved plan was checked against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanThresholds {
    /// Largest max error relative to an output's range.
    pub max_rel: f64,
    /// Smallest cosine similarity of an output.
    pub min_cosine: f64,
    /// Whether every output met them with this plan.
    pub met: bool,
}

fn plan_error(path: &str, what: String) -> Error {
    Error::Io {
        path: path.to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what),
    }
}

impl PrecisionPlan {
    /// Parse a plan from JSON text; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<PrecisionPlan> {
        let plan: PrecisionPlan = serde_json::from_str(text)
            .map_err(|e| plan_error(origin, format!("not a precision plan: {e}")))?;
        for pattern in &plan.fp32_tensors {
            regex::Regex::new(pattern).map_err(|e| {
                plan_error(
                    origin,
                    format!("fp32_tensors pattern \"{pattern}\" is not a regex: {e}"),
                )
            })?;
        }
        Ok(plan)
    }

    /// Read a plan file.
    pub fn read(path: impl AsRef<Path>) -> Result<PrecisionPlan> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Write the plan as pretty JSON: to a temporary file beside `path`, then
    /// renamed over it, so readers never see half a plan.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| io(std::io::Error::other(e.to_string())))?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        let tmp = std::path::PathBuf::from(tmp);
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }

    /// Refuse the plan when it was written for a model other than the one whose
    /// file hashes to `sha256` (named `name` in the error).
    pub fn check_model(&self, sha256: &str, name: &str) -> Result<()> {
        match &self.model_sha256 {
            Some(h) if !h.eq_ignore_ascii_case(sha256) => Err(Error::Input {
                index: 0,
                what: format!(
                    "the precision plan was written for another model ({} with sha256 {h}); \
                     this model {name} has sha256 {sha256}",
                    self.model.as_deref().unwrap_or("unnamed"),
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The nodes of the prepared graph `sg` the plan keeps in fp32, ascending:
    /// its indices, the nodes of its op names and the writers of tensors matching
    /// its patterns. An index past the graph, or a graph of another size than the
    /// plan's, is an error.
    pub fn resolve(&self, sg: &Subgraph) -> Result<Vec<usize>> {
        let n = sg.nodes.len();
        let refuse = |what: String| Error::Input { index: 0, what };
        if let Some(want) = self.graph_nodes {
            if want != n {
                return Err(refuse(format!(
                    "the precision plan was written for a prepared graph of {want} nodes \
                     ({}); this one has {n}",
                    self.model.as_deref().unwrap_or("another model"),
                )));
            }
        }
        let mut nodes = Vec::new();
        for &k in &self.fp32_nodes {
            if k >= n {
                return Err(refuse(format!(
                    "precision plan node {k} is past the prepared graph's {n} nodes"
                )));
            }
            nodes.push(k);
        }
        let patterns = self
            .fp32_tensors
            .iter()
            .map(|p| {
                regex::Regex::new(p).map_err(|e| {
                    refuse(format!(
                        "precision plan pattern \"{p}\" is not a regex: {e}"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        for (k, node) in sg.nodes.iter().enumerate() {
            let by_op = self.fp32_ops.iter().any(|o| o == node.op.name());
            let by_tensor = node.outputs.iter().any(|&t| {
                sg.tensors
                    .get(t)
                    .is_some_and(|info| patterns.iter().any(|re| re.is_match(&info.name)))
            });
            if by_op || by_tensor {
                nodes.push(k);
            }
        }
        nodes.sort_unstable();
        nodes.dedup();
        Ok(nodes)
    }
}

/// SHA-256 of `bytes` as lowercase hex: the content hash a plan is tied to.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            sha256_hex(long),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            sha256_hex(&[b'a'; 1000]),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }

    #[test]
    fn plans_round_trip_and_refuse_other_models() {
        let plan = PrecisionPlan {
            model: Some("a.tflite".into()),
            model_sha256: Some("ab".repeat(32)),
            fp32_nodes: vec![3],
            fp32_ops: vec!["SUM".into()],
            ..Default::default()
        };
        let text = serde_json::to_string(&plan).unwrap();
        assert_eq!(PrecisionPlan::from_json(&text, "t").unwrap(), plan);
        assert!(plan.check_model(&"ab".repeat(32), "a").is_ok());
        let e = plan.check_model(&"cd".repeat(32), "b.tflite").unwrap_err();
        let e = e.to_string();
        assert!(e.contains("another model") && e.contains("b.tflite"), "{e}");
        assert!(
            e.contains(&"ab".repeat(32)) && e.contains(&"cd".repeat(32)),
            "{e}"
        );
        assert!(PrecisionPlan::from_json("{\"fp32_tensors\":[\"(\"]}", "t").is_err());
        assert!(PrecisionPlan::from_json("{\"nodes\":[1]}", "t").is_err());
    }
}

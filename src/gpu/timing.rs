//! Timestamp queries for profiled runs of a program: two timestamps per dispatch,
//! written inside one compute pass where the adapter allows it and otherwise as the
//! beginning and end of one pass per dispatch; resolved into a buffer and read back
//! with the outputs.

use super::device::GpuDevice;
use crate::error::{Error, Result};

/// How the GPU times of a partition were measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampMode {
    /// Two timestamps around each dispatch inside one compute pass
    /// (TIMESTAMP_QUERY_INSIDE_PASSES).
    InsidePasses,
    /// One compute pass per dispatch with pass timestamp writes (TIMESTAMP_QUERY).
    PerPass,
    /// The adapter has no timestamp queries: no GPU times.
    #[default]
    None,
}

impl TimestampMode {
    /// "inside_passes", "per_pass" or "none".
    pub fn name(self) -> &'static str {
        match self {
            TimestampMode::InsidePasses => "inside_passes",
            TimestampMode::PerPass => "per_pass",
            TimestampMode::None => "none",
        }
    }
}

/// Queries per query set (wgpu's `QUERY_SET_MAX_QUERIES`); even, so the two
/// timestamps of one dispatch share a set.
const PER_SET: u32 = wgpu::QUERY_SET_MAX_QUERIES;

/// The query sets and buffers of one program's profiled runs.
pub struct Timestamps {
    /// How the timestamps are written.
    pub mode: TimestampMode,
    sets: Vec<wgpu::QuerySet>,
    resolve: wgpu::Buffer,
    staging: wgpu::Buffer,
    queries: u32,
    /// Nanoseconds per timestamp tick.
    period: f64,
}

impl Timestamps {
    /// Query sets for `dispatches` dispatches, or None when the device has no
    /// timestamp queries.
    pub fn new(gpu: &GpuDevice, dispatches: usize) -> Result<Option<Timestamps>> {
        let mode = if gpu.timestamps_inside_passes {
            TimestampMode::InsidePasses
        } else if gpu.timestamps {
            TimestampMode::PerPass
        } else {
            return Ok(None);
        };
        let queries = u32::try_from(dispatches.max(1) * 2)
            .map_err(|_| Error::device("too many dispatches to profile"))?;
        let dev = &gpu.device;
        let scope = dev.push_error_scope(wgpu::ErrorFilter::Validation);
        let sets = (0..queries.div_ceil(PER_SET))
            .map(|k| {
                dev.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("profile"),
                    ty: wgpu::QueryType::Timestamp,
                    count: (queries - k * PER_SET).min(PER_SET),
                })
            })
            .collect();
        let size = u64::from(queries) * 8;
        let resolve = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::device_source(
                format!("creating timestamp queries failed: {e}"),
                e,
            ));
        }
        Ok(Some(Timestamps {
            mode,
            sets,
            resolve,
            staging,
            queries,
            period: f64::from(gpu.queue.get_timestamp_period()),
        }))
    }

    /// The query set and index of the first timestamp of dispatch `i`; the second
    /// is the index after it.
    pub fn slot(&self, i: usize) -> (&wgpu::QuerySet, u32) {
        let q = (i * 2) as u32;
        (&self.sets[(q / PER_SET) as usize], q % PER_SET)
    }

    /// Resolve every query and copy the values to the readback buffer.
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        for (k, set) in self.sets.iter().enumerate() {
            let first = k as u32 * PER_SET;
            let count = (self.queries - first).min(PER_SET);
            encoder.resolve_query_set(set, 0..count, &self.resolve, u64::from(first) * 8);
        }
        encoder.copy_buffer_to_buffer(
            &self.resolve,
            0,
            &self.staging,
            0,
            u64::from(self.queries) * 8,
        );
    }

    /// Start mapping the readback buffer (after the submit).
    pub fn map(&self) {
        self.staging.map_async(wgpu::MapMode::Read, .., |_| {});
    }

    /// After the GPU finished: nanoseconds of each of the first `dispatches`
    /// dispatches and from the first timestamp to the last.
    pub fn read(&self, dispatches: usize) -> Result<(Vec<f64>, f64)> {
        let ticks: Vec<u64> = {
            let view = self
                .staging
                .get_mapped_range(..)
                .map_err(|e| Error::device_source(format!("reading timestamps failed: {e}"), e))?;
            view.chunks_exact(8)
                .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect()
        };
        self.staging.unmap();
        let ns = |a: u64, b: u64| b.saturating_sub(a) as f64 * self.period;
        let per_dispatch = ticks
            .chunks_exact(2)
            .take(dispatches)
            .map(|c| ns(c[0], c[1]))
            .collect();
        let used = &ticks[..(dispatches * 2).min(ticks.len())];
        let span = match (used.iter().min(), used.iter().max()) {
            (Some(&a), Some(&b)) => ns(a, b),
            _ => 0.0,
        };
        Ok((per_dispatch, span))
    }
}

//! Numpy broadcasting: output shapes and per-element input offsets.

/// The broadcast of two shapes (numpy rules, aligned at the last axis), or None when
/// they are incompatible.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Strides of `input` seen through `output`'s shape: 0 along broadcast axes.
/// `input` must broadcast to `output`.
pub fn broadcast_strides(input: &[usize], output: &[usize]) -> Vec<usize> {
    let rank = output.len();
    let mut strides = vec![0; rank];
    let mut s = 1;
    for i in (0..input.len()).rev() {
        let o = i + rank - input.len();
        strides[o] = if input[i] == 1 && output[o] != 1 {
            0
        } else {
            s
        };
        s *= input[i];
    }
    strides
}

/// For every element of `output` (row-major), the offset of the element of `input`
/// it reads under broadcasting.
pub fn broadcast_offsets(input: &[usize], output: &[usize]) -> Vec<usize> {
    let strides = broadcast_strides(input, output);
    let total: usize = output.iter().product();
    let mut offsets = Vec::with_capacity(total);
    if total == 0 {
        return offsets;
    }
    let rank = output.len();
    let mut idx = vec![0usize; rank];
    let mut off = 0usize;
    let inner = if rank == 0 { 1 } else { output[rank - 1] };
    let inner_stride = if rank == 0 { 0 } else { strides[rank - 1] };
    loop {
        for k in 0..inner {
            offsets.push(off + k * inner_stride);
        }
        // advance the outer odometer
        let mut d = rank.saturating_sub(1);
        loop {
            if d == 0 {
                return offsets;
            }
            d -= 1;
            idx[d] += 1;
            off += strides[d];
            if idx[d] < output[d] {
                break;
            }
            off -= strides[d] * idx[d];
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(broadcast_shapes(&[2, 1, 3], &[4, 1]), Some(vec![2, 4, 3]));
        assert_eq!(broadcast_shapes(&[], &[5]), Some(vec![5]));
        assert_eq!(broadcast_shapes(&[2], &[3]), None);
    }

    #[test]
    fn offsets() {
        assert_eq!(broadcast_offsets(&[3], &[2, 3]), vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(broadcast_offsets(&[2, 1], &[2, 3]), vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(broadcast_offsets(&[], &[2]), vec![0, 0]);
        assert_eq!(broadcast_offsets(&[2, 2], &[2, 2]), vec![0, 1, 2, 3]);
        assert_eq!(broadcast_offsets(&[1, 2, 1], &[3, 2, 2]).len(), 12);
        assert_eq!(broadcast_offsets(&[5], &[0, 5]), Vec::<usize>::new());
    }
}

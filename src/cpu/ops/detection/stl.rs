//! The heap algorithms of libstdc++ (`std::push_heap`, `std::pop_heap`,
//! `std::partial_sort`), step for step, so that equal keys come out in the order
//! LiteRT's kernels (built against libstdc++) produce: a priority queue or a
//! partial sort is only defined up to ties, and NMS outputs depend on that order.

/// `std::__push_heap`: move `value` up from `hole` toward `top`.
fn push_up<T: Copy>(
    v: &mut [T],
    mut hole: usize,
    top: usize,
    value: T,
    less: &impl Fn(&T, &T) -> bool,
) {
    while hole > top {
        let parent = (hole - 1) / 2;
        if !less(&v[parent], &value) {
            break;
        }
        v[hole] = v[parent];
        hole = parent;
    }
    v[hole] = value;
}

/// `std::__adjust_heap` over `v[..len]`.
fn adjust<T: Copy>(
    v: &mut [T],
    mut hole: usize,
    len: usize,
    value: T,
    less: &impl Fn(&T, &T) -> bool,
) {
    let top = hole;
    let mut child = hole;
    while child < len.saturating_sub(1) / 2 {
        child = 2 * (child + 1);
        if less(&v[child], &v[child - 1]) {
            child -= 1;
        }
        v[hole] = v[child];
        hole = child;
    }
    if len % 2 == 0 && len >= 2 && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        v[hole] = v[child - 1];
        hole = child - 1;
    }
    push_up(v, hole, top, value, less);
}

/// `std::push_heap(v.begin(), v.end())`: the last element joins the heap.
pub fn push_heap<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    if let Some(&value) = v.last() {
        push_up(v, v.len() - 1, 0, value, less);
    }
}

/// `std::pop_heap(v.begin(), v.end())`: the top moves to the last slot.
pub fn pop_heap<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let n = v.len();
    if n > 1 {
        let value = v[n - 1];
        v[n - 1] = v[0];
        adjust(v, 0, n - 1, value, less);
    }
}

/// `std::make_heap`.
fn make_heap<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let len = v.len();
    if len < 2 {
        return;
    }
    let mut parent = (len - 2) / 2;
    loop {
        let value = v[parent];
        adjust(v, parent, len, value, less);
        if parent == 0 {
            return;
        }
        parent -= 1;
    }
}

/// `std::partial_sort(v.begin(), v.begin() + middle, v.end(), less)`.
pub fn partial_sort<T: Copy>(v: &mut [T], middle: usize, less: &impl Fn(&T, &T) -> bool) {
    let middle = middle.min(v.len());
    if middle == 0 {
        return;
    }
    make_heap(&mut v[..middle], less);
    for i in middle..v.len() {
        if less(&v[i], &v[0]) {
            // std::__pop_heap(first, middle, i): v[i] takes the top, its value sifts in.
            let value = v[i];
            v[i] = v[0];
            adjust(&mut v[..middle], 0, middle, value, less);
        }
    }
    for end in (2..=middle).rev() {
        pop_heap(&mut v[..end], less);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_sort_orders_the_prefix() {
        let vals = [3.0f32, 9.0, 1.0, 7.0, 9.0, 2.0, 8.0];
        let mut idx: Vec<usize> = (0..vals.len()).collect();
        partial_sort(&mut idx, 4, &|&a, &b| vals[a] > vals[b]);
        let top: Vec<f32> = idx[..4].iter().map(|&i| vals[i]).collect();
        assert_eq!(top, vec![9.0, 9.0, 8.0, 7.0]);
        let mut all = idx.clone();
        all.sort_unstable();
        assert_eq!(all, (0..vals.len()).collect::<Vec<_>>());
    }

    #[test]
    fn heap_pops_in_order() {
        let mut h: Vec<i32> = Vec::new();
        for x in [5, 1, 8, 3, 8, 2] {
            h.push(x);
            push_heap(&mut h, &|a, b| a < b);
        }
        let mut out = Vec::new();
        while !h.is_empty() {
            pop_heap(&mut h, &|a, b| a < b);
            out.push(h.pop().unwrap());
        }
        assert_eq!(out, vec![8, 8, 5, 3, 2, 1]);
    }
}

// Without the overflow guard a saturating store flags nothing.
fn guard_flag(m: u32) {}

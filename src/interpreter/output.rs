//! Typed access to output values in the caller's own memory.

use crate::graph::{DType, Data};
use half::f16;

mod sealed {
    pub trait Sealed {}
}

/// An element type an output can be copied into with
/// [`Interpreter::output_into`](crate::Interpreter::output_into): the Rust type of
/// one tensor dtype.
pub trait Element: Copy + sealed::Sealed {
    /// The dtype whose elements this type holds.
    const DTYPE: DType;
    /// The elements of `data` when it holds this type.
    fn elements(data: &Data) -> Option<&[Self]>;
    /// `out` as bytes in native order, when any bytes are valid elements (not
    /// bool).
    #[doc(hidden)]
    fn bytes_mut(out: &mut [Self]) -> Option<&mut [u8]>;
}

macro_rules! element {
    ($t:ty, $variant:ident, $dtype:expr) => {
        element!($t, $variant, $dtype, out => Some(bytemuck::cast_slice_mut(out)));
    };
    ($t:ty, $variant:ident, $dtype:expr, $out:ident => $bytes:expr) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = $dtype;
            fn elements(data: &Data) -> Option<&[Self]> {
                match data {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn bytes_mut($out: &mut [Self]) -> Option<&mut [u8]> {
                $bytes
            }
        }
    };
}

element!(f32, F32, DType::F32);
element!(f16, F16, DType::F16);
element!(i8, I8, DType::I8);
element!(u8, U8, DType::U8);
element!(i16, I16, DType::I16);
element!(i32, I32, DType::I32);
element!(u32, U32, DType::U32);
element!(i64, I64, DType::I64);
element!(bool, Bool, DType::Bool, _out => None);

/// The elements of `data` in native byte order (bool as 0/1 bytes), borrowed
/// except for bool.
pub(super) fn native_bytes(data: &Data) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    match data {
        Data::F32(v) | Data::C64(v) => Cow::Borrowed(bytemuck::cast_slice(v)),
        Data::F16(v) => Cow::Borrowed(bytemuck::cast_slice(v)),
        Data::I8(v) => Cow::Borrowed(bytemuck::cast_slice(v)),
        Data::U8(v) => Cow::Borrowed(v),
        Data::I16(v) => Cow::Borrowed(bytemuck::cast_slice(v)),
        Data::I32(v) => Cow::Borrowed(bytemuck::cast_slice(v)),
        Data::U32(v) => Cow::Borrowed(bytemuck::cast_slice(v)),
        Data::I64(v) => Cow::Borrowed(bytemuck::cast_slice(v)),
        Data::Bool(v) => Cow::Owned(v.iter().map(|&b| u8::from(b)).collect()),
    }
}

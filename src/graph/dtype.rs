//! Element types of tensors, numbered as in the TFLite schema's `TensorType`.

/// The element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float.
    F32,
    /// IEEE half precision float.
    F16,
    /// bfloat16.
    BF16,
    /// 64-bit float.
    F64,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 16-bit integer.
    U16,
    /// Signed 32-bit integer.
    I32,
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 64-bit integer.
    I64,
    /// Unsigned 64-bit integer.
    U64,
    /// Boolean, one byte each.
    Bool,
    /// Complex number of two f32 (real, imaginary).
    Complex64,
    /// Complex number of two f64.
    Complex128,
    /// Variable-length strings.
    String,
    /// Signed 4-bit integers, two per byte.
    Int4,
    /// A resource handle.
    Resource,
    /// A variant (TensorList) handle.
    Variant,
}

impl DType {
    /// Decode the schema's `TensorType` code.
    pub fn from_code(code: i8) -> Option<DType> {
        use DType::*;
        Some(match code {
            0 => F32,
            1 => F16,
            2 => I32,
            3 => U8,
            4 => I64,
            5 => String,
            6 => Bool,
            7 => I16,
            8 => Complex64,
            9 => I8,
            10 => F64,
            11 => Complex128,
            12 => U64,
            13 => Resource,
            14 => Variant,
            15 => U32,
            16 => U16,
            17 => Int4,
            18 => BF16,
            _ => return None,
        })
    }

    /// The schema's `TensorType` code.
    pub fn code(self) -> i8 {
        use DType::*;
        match self {
            F32 => 0,
            F16 => 1,
            I32 => 2,
            U8 => 3,
            I64 => 4,
            String => 5,
            Bool => 6,
            I16 => 7,
            Complex64 => 8,
            I8 => 9,
            F64 => 10,
            Complex128 => 11,
            U64 => 12,
            Resource => 13,
            Variant => 14,
            U32 => 15,
            U16 => 16,
            Int4 => 17,
            BF16 => 18,
        }
    }

    /// Bytes per element, or None for types without a fixed size (strings, int4).
    pub fn size(self) -> Option<usize> {
        use DType::*;
        Some(match self {
            I8 | U8 | Bool => 1,
            F16 | BF16 | I16 | U16 => 2,
            F32 | I32 | U32 => 4,
            F64 | I64 | U64 | Complex64 => 8,
            Complex128 => 16,
            String | Int4 | Resource | Variant => return None,
        })
    }

    /// The name numpy and LiteRT use for this type.
    pub fn name(self) -> &'static str {
        use DType::*;
        match self {
            F32 => "float32",
            F16 => "float16",
            BF16 => "bfloat16",
            F64 => "float64",
            I8 => "int8",
            U8 => "uint8",
            I16 => "int16",
            U16 => "uint16",
            I32 => "int32",
            U32 => "uint32",
            I64 => "int64",
            U64 => "uint64",
            Bool => "bool",
            Complex64 => "complex64",
            Complex128 => "complex128",
            String => "string",
            Int4 => "int4",
            Resource => "resource",
            Variant => "variant",
        }
    }

    /// True for float types (f16, bf16, f32, f64).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F16 | DType::BF16 | DType::F64)
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

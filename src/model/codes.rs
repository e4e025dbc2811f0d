//! The builtin operator table of the TFLite schema (all 210 codes of the current
//! `BuiltinOperator` enum, through STABLEHLO_CASE): each builtin's code, name and
//! the `BuiltinOptions` union tag of its options table. The flatbuffer reader, the
//! writer and the C ABI all take their codes from here.

/// One builtin operator of the schema's `BuiltinOperator` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinOp {
    /// The schema code.
    pub code: i32,
    /// The schema name, e.g. `"CONV_2D"`.
    pub name: &'static str,
    /// The `BuiltinOptions` union tag of the options table this crate reads and
    /// writes for the op; [`tag::NONE`] when it has none.
    pub options: u8,
}

/// Defines the `BuiltinOptions` tags as constants of a module `tag`.
macro_rules! options_tags {
    ($($name:ident = $tag:literal,)*) => {
        /// Schema `BuiltinOptions` union tags of the option tables this crate reads
        /// and writes.
        pub mod tag {
            /// No options table.
            pub const NONE: u8 = 0;
            $(
                #[doc = concat!("The options table of `", stringify!($name), "`.")]
                pub const $name: u8 = $tag;
            )*
        }
    };
}

/// Defines the builtin table [`BUILTIN_OPS`] (indexed by code) and one constant
/// per builtin in a module `code`.
macro_rules! builtin_ops {
    ($($code:literal $name:ident $(=> $tag:ident)?,)*) => {
        /// Schema `BuiltinOperator` codes.
        pub mod code {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: i32 = $code;
            )*
        }

        /// Every builtin operator of the schema, indexed by its code.
        pub const BUILTIN_OPS: &[BuiltinOp] = &[
            $(BuiltinOp {
                code: $code,
                name: stringify!($name),
                options: options_tag!($($tag)?),
            },)*
        ];
    };
}

/// The options tag of a table row: the named tag, or none.
macro_rules! options_tag {
    () => {
        tag::NONE
    };
    ($tag:ident) => {
        tag::$tag
    };
}

options_tags! {
    CONV_2D = 1,
    DEPTHWISE_CONV_2D = 2,
    POOL_2D = 5,
    FULLY_CONNECTED = 8,
    SOFTMAX = 9,
    CONCATENATION = 10,
    ADD = 11,
    L2_NORM = 12,
    LRN = 13,
    RESIZE_BILINEAR = 15,
    RESHAPE = 17,
    SPACE_TO_DEPTH = 19,
    MUL = 21,
    GATHER = 23,
    REDUCER = 27,
    SUB = 28,
    DIV = 29,
    SQUEEZE = 30,
    STRIDED_SLICE = 32,
    SPLIT = 35,
    ARG_MAX = 40,
    TRANSPOSE_CONV = 49,
    SHAPE = 55,
    ARG_MIN = 57,
    PACK = 59,
    ONE_HOT = 61,
    UNPACK = 64,
    UNIDIRECTIONAL_SEQUENCE_LSTM = 71,
    RESIZE_NEAREST_NEIGHBOR = 74,
    LEAKY_RELU = 75,
    MIRROR_PAD = 77,
    SPLIT_V = 79,
    IF = 92,
    WHILE = 93,
    DEPTH_TO_SPACE = 94,
    BATCH_MATMUL = 101,
    CUMSUM = 102,
    GELU = 116,
}

builtin_ops! {
    0 ADD => ADD,
    1 AVERAGE_POOL_2D => POOL_2D,
    2 CONCATENATION => CONCATENATION,
    3 CONV_2D => CONV_2D,
    4 DEPTHWISE_CONV_2D => DEPTHWISE_CONV_2D,
    5 DEPTH_TO_SPACE => DEPTH_TO_SPACE,
    6 DEQUANTIZE,
    7 EMBEDDING_LOOKUP,
    8 FLOOR,
    9 FULLY_CONNECTED => FULLY_CONNECTED,
    10 HASHTABLE_LOOKUP,
    11 L2_NORMALIZATION => L2_NORM,
    12 L2_POOL_2D => POOL_2D,
    13 LOCAL_RESPONSE_NORMALIZATION => LRN,
    14 LOGISTIC,
    15 LSH_PROJECTION,
    16 LSTM,
    17 MAX_POOL_2D => POOL_2D,
    18 MUL => MUL,
    19 RELU,
    20 RELU_N1_TO_1,
    21 RELU6,
    22 RESHAPE => RESHAPE,
    23 RESIZE_BILINEAR => RESIZE_BILINEAR,
    24 RNN,
    25 SOFTMAX => SOFTMAX,
    26 SPACE_TO_DEPTH => SPACE_TO_DEPTH,
    27 SVDF,
    28 TANH,
    29 CONCAT_EMBEDDINGS,
    30 SKIP_GRAM,
    31 CALL,
    32 CUSTOM,
    33 EMBEDDING_LOOKUP_SPARSE,
    34 PAD,
    35 UNIDIRECTIONAL_SEQUENCE_RNN,
    36 GATHER => GATHER,
    37 BATCH_TO_SPACE_ND,
    38 SPACE_TO_BATCH_ND,
    39 TRANSPOSE,
    40 MEAN => REDUCER,
    41 SUB => SUB,
    42 DIV => DIV,
    43 SQUEEZE => SQUEEZE,
    44 UNIDIRECTIONAL_SEQUENCE_LSTM => UNIDIRECTIONAL_SEQUENCE_LSTM,
    45 STRIDED_SLICE => STRIDED_SLICE,
    46 BIDIRECTIONAL_SEQUENCE_RNN,
    47 EXP,
    48 TOPK_V2,
    49 SPLIT => SPLIT,
    50 LOG_SOFTMAX,
    51 DELEGATE,
    52 BIDIRECTIONAL_SEQUENCE_LSTM,
    53 CAST,
    54 PRELU,
    55 MAXIMUM,
    56 ARG_MAX => ARG_MAX,
    57 MINIMUM,
    58 LESS,
    59 NEG,
    60 PADV2,
    61 GREATER,
    62 GREATER_EQUAL,
    63 LESS_EQUAL,
    64 SELECT,
    65 SLICE,
    66 SIN,
    67 TRANSPOSE_CONV => TRANSPOSE_CONV,
    68 SPARSE_TO_DENSE,
    69 TILE,
    70 EXPAND_DIMS,
    71 EQUAL,
    72 NOT_EQUAL,
    73 LOG,
    74 SUM => REDUCER,
    75 SQRT,
    76 RSQRT,
    77 SHAPE => SHAPE,
    78 POW,
    79 ARG_MIN => ARG_MIN,
    80 FAKE_QUANT,
    81 REDUCE_PROD => REDUCER,
    82 REDUCE_MAX => REDUCER,
    83 PACK => PACK,
    84 LOGICAL_OR,
    85 ONE_HOT => ONE_HOT,
    86 LOGICAL_AND,
    87 LOGICAL_NOT,
    88 UNPACK => UNPACK,
    89 REDUCE_MIN => REDUCER,
    90 FLOOR_DIV,
    91 REDUCE_ANY => REDUCER,
    92 SQUARE,
    93 ZEROS_LIKE,
    94 FILL,
    95 FLOOR_MOD,
    96 RANGE,
    97 RESIZE_NEAREST_NEIGHBOR => RESIZE_NEAREST_NEIGHBOR,
    98 LEAKY_RELU => LEAKY_RELU,
    99 SQUARED_DIFFERENCE,
    100 MIRROR_PAD => MIRROR_PAD,
    101 ABS,
    102 SPLIT_V => SPLIT_V,
    103 UNIQUE,
    104 CEIL,
    105 REVERSE_V2,
    106 ADD_N,
    107 GATHER_ND,
    108 COS,
    109 WHERE,
    110 RANK,
    111 ELU,
    112 REVERSE_SEQUENCE,
    113 MATRIX_DIAG,
    114 QUANTIZE,
    115 MATRIX_SET_DIAG,
    116 ROUND,
    117 HARD_SWISH,
    118 IF => IF,
    119 WHILE => WHILE,
    120 NON_MAX_SUPPRESSION_V4,
    121 NON_MAX_SUPPRESSION_V5,
    122 SCATTER_ND,
    123 SELECT_V2,
    124 DENSIFY,
    125 SEGMENT_SUM,
    126 BATCH_MATMUL => BATCH_MATMUL,
    127 PLACEHOLDER_FOR_GREATER_OP_CODES,
    128 CUMSUM => CUMSUM,
    129 CALL_ONCE,
    130 BROADCAST_TO,
    131 RFFT2D,
    132 CONV_3D,
    133 IMAG,
    134 REAL,
    135 COMPLEX_ABS,
    136 HASHTABLE,
    137 HASHTABLE_FIND,
    138 HASHTABLE_IMPORT,
    139 HASHTABLE_SIZE,
    140 REDUCE_ALL => REDUCER,
    141 CONV_3D_TRANSPOSE,
    142 VAR_HANDLE,
    143 READ_VARIABLE,
    144 ASSIGN_VARIABLE,
    145 BROADCAST_ARGS,
    146 RANDOM_STANDARD_NORMAL,
    147 BUCKETIZE,
    148 RANDOM_UNIFORM,
    149 MULTINOMIAL,
    150 GELU => GELU,
    151 DYNAMIC_UPDATE_SLICE,
    152 RELU_0_TO_1,
    153 UNSORTED_SEGMENT_PROD,
    154 UNSORTED_SEGMENT_MAX,
    155 UNSORTED_SEGMENT_SUM,
    156 ATAN2,
    157 UNSORTED_SEGMENT_MIN,
    158 SIGN,
    159 BITCAST,
    160 BITWISE_XOR,
    161 RIGHT_SHIFT,
    162 STABLEHLO_LOGISTIC,
    163 STABLEHLO_ADD,
    164 STABLEHLO_DIVIDE,
    165 STABLEHLO_MULTIPLY,
    166 STABLEHLO_MAXIMUM,
    167 STABLEHLO_RESHAPE,
    168 STABLEHLO_CLAMP,
    169 STABLEHLO_CONCATENATE,
    170 STABLEHLO_BROADCAST_IN_DIM,
    171 STABLEHLO_CONVOLUTION,
    172 STABLEHLO_SLICE,
    173 STABLEHLO_CUSTOM_CALL,
    174 STABLEHLO_REDUCE,
    175 STABLEHLO_ABS,
    176 STABLEHLO_AND,
    177 STABLEHLO_COSINE,
    178 STABLEHLO_EXPONENTIAL,
    179 STABLEHLO_FLOOR,
    180 STABLEHLO_LOG,
    181 STABLEHLO_MINIMUM,
    182 STABLEHLO_NEGATE,
    183 STABLEHLO_OR,
    184 STABLEHLO_POWER,
    185 STABLEHLO_REMAINDER,
    186 STABLEHLO_RSQRT,
    187 STABLEHLO_SELECT,
    188 STABLEHLO_SUBTRACT,
    189 STABLEHLO_TANH,
    190 STABLEHLO_SCATTER,
    191 STABLEHLO_COMPARE,
    192 STABLEHLO_CONVERT,
    193 STABLEHLO_DYNAMIC_SLICE,
    194 STABLEHLO_DYNAMIC_UPDATE_SLICE,
    195 STABLEHLO_PAD,
    196 STABLEHLO_IOTA,
    197 STABLEHLO_DOT_GENERAL,
    198 STABLEHLO_REDUCE_WINDOW,
    199 STABLEHLO_SORT,
    200 STABLEHLO_WHILE,
    201 STABLEHLO_GATHER,
    202 STABLEHLO_TRANSPOSE,
    203 DILATE,
    204 STABLEHLO_RNG_BIT_GENERATOR,
    205 REDUCE_WINDOW,
    206 STABLEHLO_COMPOSITE,
    207 STABLEHLO_SHIFT_LEFT,
    208 STABLEHLO_CBRT,
    209 STABLEHLO_CASE,
}

/// The table row of a builtin code; `None` for codes past the table.
pub fn builtin(code: i32) -> Option<&'static BuiltinOp> {
    usize::try_from(code).ok().and_then(|c| BUILTIN_OPS.get(c))
}

/// The name of a builtin operator code (`"BUILTIN_<code>"` for codes past the table).
pub fn builtin_name(code: i32) -> String {
    builtin(code)
        .map(|b| b.name.to_string())
        .unwrap_or_else(|| format!("BUILTIN_{code}"))
}

/// The code of a builtin operator name.
pub fn builtin_code(name: &str) -> Option<i32> {
    BUILTIN_OPS.iter().find(|b| b.name == name).map(|b| b.code)
}

/// The options tag this crate reads and writes for a builtin code ([`tag::NONE`]
/// when it has none or the code is unknown).
pub fn options_tag(code: i32) -> u8 {
    builtin(code).map_or(tag::NONE, |b| b.options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_indexed_by_code() {
        for (i, b) in BUILTIN_OPS.iter().enumerate() {
            assert_eq!(b.code as usize, i, "{}", b.name);
        }
        assert_eq!(BUILTIN_OPS.len(), 210);
    }

    #[test]
    fn names_and_codes_round_trip() {
        assert_eq!(builtin_name(code::CONV_2D), "CONV_2D");
        assert_eq!(builtin_name(code::RIGHT_SHIFT), "RIGHT_SHIFT");
        assert_eq!(builtin_name(code::STABLEHLO_CASE), "STABLEHLO_CASE");
        assert_eq!(builtin_name(-1), "BUILTIN_-1");
        assert_eq!(builtin_name(210), "BUILTIN_210");
        for b in BUILTIN_OPS {
            assert_eq!(builtin_code(b.name), Some(b.code));
        }
        assert_eq!(builtin_code("NOT_AN_OP"), None);
    }

    #[test]
    fn options_tags_follow_the_schema() {
        assert_eq!(options_tag(code::ADD), 11);
        assert_eq!(options_tag(code::MAX_POOL_2D), tag::POOL_2D);
        assert_eq!(options_tag(code::REDUCE_ALL), tag::REDUCER);
        assert_eq!(options_tag(code::GELU), 116);
        assert_eq!(options_tag(code::TILE), tag::NONE);
        assert_eq!(options_tag(1000), tag::NONE);
    }
}

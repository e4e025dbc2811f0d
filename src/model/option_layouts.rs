//! Field layouts of the TFLite schema's operator option tables (the tables of the
//! `BuiltinOptions` and `BuiltinOptions2` unions), so the writer can carry an
//! operator's options over from the file it was read from field by field, those
//! this crate does not decode included.
//!
//! One character per field id: `b`, `h`, `i`, `q` a scalar of 1, 2, 4 or 8 bytes;
//! `B`, `H`, `I`, `Q` a vector of such scalars; `s` a string; `-` a deprecated field.
//! Taken from the schema of LiteRT 2.3 (`schema_py_generated.py`).

/// The `BuiltinOptions` union: field layouts by tag (tag 1 first).
pub(super) const BUILTIN_OPTIONS: &[&str] = &[
    "biibiib",  // 1 Conv2DOptions
    "biiibii",  // 2 DepthwiseConv2DOptions
    "iII",      // 3 ConcatEmbeddingsOptions
    "b",        // 4 LSHProjectionOptions
    "biiiib",   // 5 Pool2DOptions
    "ibb",      // 6 SVDFOptions
    "bb",       // 7 RNNOptions
    "bbbbbB",   // 8 FullyConnectedOptions
    "i",        // 9 SoftmaxOptions
    "ib",       // 10 ConcatenationOptions
    "bb",       // 11 AddOptions
    "b",        // 12 L2NormOptions
    "iiii",     // 13 LocalResponseNormalizationOptions
    "biibb",    // 14 LSTMOptions
    "--bb",     // 15 ResizeBilinearOptions
    "i",        // 16 CallOptions
    "I",        // 17 ReshapeOptions
    "iib",      // 18 SkipGramOptions
    "i",        // 19 SpaceToDepthOptions
    "b",        // 20 EmbeddingLookupSparseOptions
    "b",        // 21 MulOptions
    "",         // 22 PadOptions
    "ii",       // 23 GatherOptions
    "",         // 24 BatchToSpaceNDOptions
    "",         // 25 SpaceToBatchNDOptions
    "",         // 26 TransposeOptions
    "b",        // 27 ReducerOptions
    "bb",       // 28 SubOptions
    "b",        // 29 DivOptions
    "I",        // 30 SqueezeOptions
    "bbb",      // 31 SequenceRNNOptions
    "iiiiib",   // 32 StridedSliceOptions
    "",         // 33 ExpOptions
    "",         // 34 TopKV2Options
    "i",        // 35 SplitOptions
    "",         // 36 LogSoftmaxOptions
    "bb",       // 37 CastOptions
    "",         // 38 DequantizeOptions
    "",         // 39 MaximumMinimumOptions
    "b",        // 40 ArgMaxOptions
    "",         // 41 LessOptions
    "",         // 42 NegOptions
    "",         // 43 PadV2Options
    "",         // 44 GreaterOptions
    "",         // 45 GreaterEqualOptions
    "",         // 46 LessEqualOptions
    "",         // 47 SelectOptions
    "",         // 48 SliceOptions
    "biibb",    // 49 TransposeConvOptions
    "b",        // 50 SparseToDenseOptions
    "",         // 51 TileOptions
    "",         // 52 ExpandDimsOptions
    "",         // 53 EqualOptions
    "",         // 54 NotEqualOptions
    "b",        // 55 ShapeOptions
    "",         // 56 PowOptions
    "b",        // 57 ArgMinOptions
    "iiib",     // 58 FakeQuantOptions
    "ii",       // 59 PackOptions
    "",         // 60 LogicalOrOptions
    "i",        // 61 OneHotOptions
    "",         // 62 LogicalAndOptions
    "",         // 63 LogicalNotOptions
    "ii",       // 64 UnpackOptions
    "",         // 65 FloorDivOptions
    "",         // 66 SquareOptions
    "",         // 67 ZerosLikeOptions
    "",         // 68 FillOptions
    "biibbb",   // 69 BidirectionalSequenceLSTMOptions
    "bbbb",     // 70 BidirectionalSequenceRNNOptions
    "biibbb",   // 71 UnidirectionalSequenceLSTMOptions
    "",         // 72 FloorModOptions
    "",         // 73 RangeOptions
    "bb",       // 74 ResizeNearestNeighborOptions
    "i",        // 75 LeakyReluOptions
    "",         // 76 SquaredDifferenceOptions
    "b",        // 77 MirrorPadOptions
    "",         // 78 AbsOptions
    "i",        // 79 SplitVOptions
    "b",        // 80 UniqueOptions
    "",         // 81 ReverseV2Options
    "",         // 82 AddNOptions
    "",         // 83 GatherNdOptions
    "",         // 84 CosOptions
    "",         // 85 WhereOptions
    "",         // 86 RankOptions
    "ii",       // 87 ReverseSequenceOptions
    "",         // 88 MatrixDiagOptions
    "",         // 89 QuantizeOptions
    "",         // 90 MatrixSetDiagOptions
    "",         // 91 HardSwishOptions
    "ii",       // 92 IfOptions
    "ii",       // 93 WhileOptions
    "i",        // 94 DepthToSpaceOptions
    "",         // 95 NonMaxSuppressionV4Options
    "",         // 96 NonMaxSuppressionV5Options
    "",         // 97 ScatterNdOptions
    "",         // 98 SelectV2Options
    "",         // 99 DensifyOptions
    "",         // 100 SegmentSumOptions
    "bbb",      // 101 BatchMatMulOptions
    "bb",       // 102 CumsumOptions
    "i",        // 103 CallOnceOptions
    "",         // 104 BroadcastToOptions
    "",         // 105 Rfft2dOptions
    "biiibiii", // 106 Conv3DOptions
    "ibb",      // 107 HashtableOptions
    "",         // 108 HashtableFindOptions
    "",         // 109 HashtableImportOptions
    "",         // 110 HashtableSizeOptions
    "ss",       // 111 VarHandleOptions
    "",         // 112 ReadVariableOptions
    "",         // 113 AssignVariableOptions
    "qq",       // 114 RandomOptions
    "I",        // 115 BucketizeOptions
    "b",        // 116 GeluOptions
    "",         // 117 DynamicUpdateSliceOptions
    "",         // 118 UnsortedSegmentProdOptions
    "",         // 119 UnsortedSegmentMaxOptions
    "",         // 120 UnsortedSegmentMinOptions
    "",         // 121 UnsortedSegmentSumOptions
    "",         // 122 ATan2Options
    "",         // 123 SignOptions
    "",         // 124 BitcastOptions
    "",         // 125 BitwiseXorOptions
    "",         // 126 RightShiftOptions
];

/// The `BuiltinOptions2` union: field layouts by tag (tag 1 first).
pub(super) const BUILTIN_OPTIONS_2: &[&str] = &[
    "q",                 // 1 StablehloConcatenateOptions
    "Q",                 // 2 StablehloBroadcastInDimOptions
    "QQQ",               // 3 StablehloSliceOptions
    "QQQQBqqQqqQqqQqqI", // 4 StablehloConvolutionOptions
    "sbsiIB",            // 5 StablehloCustomCallOptions
    "Qi",                // 6 StablehloReduceOptions
    "bQQQqbi",           // 7 StablehloScatterOptions
    "ii",                // 8 StablehloCompareOptions
    "Q",                 // 9 StablehloDynamicSliceOptions
    "QQQ",               // 10 StablehloPadOptions
    "q",                 // 11 StablehloIotaOptions
    "QQQQI",             // 12 StablehloDotGeneralOptions
    "QQQQQi",            // 13 StablehloReduceWindowOptions
    "qbi",               // 14 StablehloSortOptions
    "ii",                // 15 StablehloWhileOptions
    "QQQqQb",            // 16 StablehloGatherOptions
    "Q",                 // 17 StablehloTransposeOptions
    "",                  // 18 DilateOptions
    "b",                 // 19 StablehloRngBitGeneratorOptions
    "i",                 // 20 ReduceWindowOptions
    "siBbi",             // 21 StableHLOCompositeOptions
    "",                  // 22 StablehloShiftLeftOptions
    "I",                 // 23 StablehloCaseOptions
];

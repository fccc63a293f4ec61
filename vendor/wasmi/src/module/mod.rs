mod builder;
mod custom_section;
mod data;
mod element;
mod export;
mod global;
mod import;
pub(crate) mod init_expr;
mod instantiate;
mod parser;
mod read;
pub(crate) mod utils;

use self::{
    builder::ModuleBuilder,
    custom_section::{CustomSections, CustomSectionsBuilder},
    export::ExternIdx,
    global::Global,
    import::{ExternTypeIdx, Import},
    parser::ModuleParser,
    utils::MaybeDebug,
};
pub use self::{
    custom_section::{CustomSection, CustomSectionsIter},
    export::{ExportType, FuncIdx, MemoryIdx, ModuleExportsIter, TableIdx},
    global::GlobalIdx,
    import::{FuncTypeIdx, ImportName},
    instantiate::InstantiationError,
    read::{Read, ReadError},
};
pub(crate) use self::{
    data::{DataSegment, DataSegments, InitDataSegment, PassiveDataSegmentBytes},
    element::ElementSegment,
    init_expr::ConstExpr,
    utils::WasmiValueType,
};
use crate::{
    Engine,
    Error,
    ExternType,
    FuncType,
    GlobalType,
    MemoryType,
    TableType,
    collections::Map,
    engine::{DedupFuncType, EngineFunc, EngineFuncSpan, EngineFuncSpanIter, EngineWeak},
    instance::InstanceLayout,
};
use alloc::{boxed::Box, sync::Arc};
use core::{iter, slice::Iter as SliceIter};
#[cfg(feature = "validate")]
use wasmparser::{FuncValidatorAllocations, Parser, ValidPayload, Validator};

/// A parsed and validated WebAssembly module.
#[derive(Debug, Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

/// The internal data of a [`Module`].
#[derive(Debug)]
struct ModuleInner {
    engine: Engine,
    header: ModuleHeader,
    data_segments: DataSegments,
    custom_sections: CustomSections,
}

/// A parsed and validated WebAssembly module header.
#[derive(Debug, Clone)]
pub struct ModuleHeader {
    inner: Arc<ModuleHeaderInner>,
}

#[derive(Debug)]
struct ModuleHeaderInner {
    engine: EngineWeak,
    func_types: Box<[DedupFuncType]>,
    imports: ModuleImports,
    /// pluginhost: each function's type as an index into `func_types`.
    funcs: Box<[FuncTypeIdx]>,
    tables: Box<[TableType]>,
    memories: Box<[MemoryType]>,
    globals: Box<[GlobalType]>,
    globals_init: Box<[ConstExpr]>,
    exports: Map<Box<str>, ExternIdx>,
    start: Option<FuncIdx>,
    engine_funcs: EngineFuncSpan,
    element_segments: Box<[ElementSegment]>,
    layout: InstanceLayout,
}

/// pluginhost: the type that `idx` names in a module's type table.
///
/// # Panics
///
/// If `idx` is out of bounds, which validation rules out.
fn func_type_at(func_types: &[DedupFuncType], idx: FuncTypeIdx) -> &DedupFuncType {
    &func_types[idx.into_u32() as usize]
}

impl ModuleHeader {
    /// Returns the [`Engine`] of the [`ModuleHeader`].
    pub fn engine(&self) -> &EngineWeak {
        &self.inner.engine
    }

    /// Returns the [`InstanceLayout`] shared by all instances of this [`ModuleHeader`].
    pub fn instance_layout(&self) -> &InstanceLayout {
        &self.inner.layout
    }

    /// Returns the [`FuncType`] at the given index.
    pub fn get_func_type(&self, func_type_idx: FuncTypeIdx) -> &DedupFuncType {
        func_type_at(&self.inner.func_types, func_type_idx)
    }

    /// Returns the [`FuncType`] of the indexed function.
    pub fn get_type_of_func(&self, func_idx: FuncIdx) -> &DedupFuncType {
        self.get_func_type(self.inner.funcs[func_idx.into_u32() as usize])
    }

    /// Returns the [`GlobalType`] of the indexed global variable.
    pub fn get_type_of_global(&self, global_idx: GlobalIdx) -> &GlobalType {
        &self.inner.globals[global_idx.into_u32() as usize]
    }

    /// Returns the [`MemoryType`] of the indexed Wasm memory.
    pub fn get_type_of_memory(&self, memory_idx: MemoryIdx) -> &MemoryType {
        &self.inner.memories[memory_idx.into_u32() as usize]
    }

    /// Returns the [`TableType`] of the indexed Wasm table.
    pub fn get_type_of_table(&self, table_idx: TableIdx) -> &TableType {
        &self.inner.tables[table_idx.into_u32() as usize]
    }

    /// Returns the [`EngineFunc`] for the given [`FuncIdx`].
    ///
    /// Returns `None` if [`FuncIdx`] refers to an imported function.
    pub fn get_engine_func(&self, func_idx: FuncIdx) -> Option<EngineFunc> {
        let index = func_idx.into_u32();
        let len_imported = self.inner.imports.len_funcs() as u32;
        let index = index.checked_sub(len_imported)?;
        // Note: It is a bug if this index access is out of bounds
        //       therefore we panic here instead of using `get`.
        Some(self.inner.engine_funcs.get_or_panic(index))
    }

    /// Returns the [`FuncIdx`] for the given [`EngineFunc`].
    #[expect(unused)]
    pub fn get_func_index(&self, func: EngineFunc) -> Option<FuncIdx> {
        let position = self.inner.engine_funcs.position(func)?;
        let len_imports = self.inner.imports.len_funcs as u32;
        Some(FuncIdx::from(position + len_imports))
    }

    /// Returns the global variable type and optional initial value.
    pub fn get_global(&self, global_idx: GlobalIdx) -> (&GlobalType, Option<&ConstExpr>) {
        let index = global_idx.into_u32() as usize;
        let len_imports = self.inner.imports.len_globals();
        let global_type = self.get_type_of_global(global_idx);
        if index < len_imports {
            // The index refers to an imported global without init value.
            (global_type, None)
        } else {
            // The index refers to an internal global with init value.
            let init_expr = &self.inner.globals_init[index - len_imports];
            (global_type, Some(init_expr))
        }
    }
}

/// An imported item declaration in the [`Module`].
#[derive(Debug)]
pub enum Imported {
    /// The name of an imported [`Func`].
    ///
    /// [`Func`]: [`crate::Func`]
    Func(ImportName),
    /// The name of an imported [`Table`].
    ///
    /// [`Table`]: [`crate::Table`]
    Table(ImportName),
    /// The name of an imported [`Memory`].
    ///
    /// [`Memory`]: [`crate::Memory`]
    Memory(ImportName),
    /// The name of an imported [`Global`].
    Global(ImportName),
}

/// The import names of the [`Module`] imports.
#[derive(Debug)]
pub struct ModuleImports {
    /// All names and types of all imported items.
    items: Box<[Imported]>,
    /// The amount of imported [`Func`].
    ///
    /// [`Func`]: [`crate::Func`]
    len_funcs: usize,
    /// The amount of imported [`Global`].
    len_globals: usize,
    /// The amount of imported [`Memory`].
    ///
    /// [`Memory`]: [`crate::Memory`]
    len_memories: usize,
    /// The amount of imported [`Table`].
    ///
    /// [`Table`]: [`crate::Table`]
    len_tables: usize,
}

impl ModuleImports {
    /// Returns the number of imported global variables.
    pub fn len_globals(&self) -> usize {
        self.len_globals
    }

    /// Returns the number of imported functions.
    pub fn len_funcs(&self) -> usize {
        self.len_funcs
    }
}

impl Module {
    /// Creates a new Wasm [`Module`] from the given Wasm bytecode buffer.
    ///
    /// # Note
    ///
    /// - This parses, validates and translates the buffered Wasm bytecode.
    /// - The `wasm` may be encoded as WebAssembly binary (`.wasm`) or as
    ///   WebAssembly text format (`.wat`).
    ///
    /// # Errors
    ///
    /// - If the Wasm bytecode is malformed or fails to validate.
    /// - If the Wasm bytecode violates restrictions
    ///   set in the [`Config`] used by the `engine`.
    /// - If Wasmi cannot translate the Wasm bytecode.
    ///
    /// [`Config`]: crate::Config
    #[cfg(feature = "validate")]
    pub fn new(engine: &Engine, wasm: impl AsRef<[u8]>) -> Result<Self, Error> {
        let wasm = wasm.as_ref();
        #[cfg(feature = "wat")]
        let wasm = &wat::parse_bytes(wasm)?[..];
        ModuleParser::new(engine).parse_buffered(wasm)
    }

    /// Creates a new Wasm [`Module`] from a `'static` Wasm bytecode buffer, such as a binary
    /// embedded with `include_bytes!` (kept in flash on a microcontroller).
    ///
    /// # Note
    ///
    /// - This parses, validates and translates `wasm` exactly as [`Module::new`] does.
    /// - With [`CompilationMode::Lazy`] or [`CompilationMode::LazyTranslation`] a function that
    ///   is not yet translated borrows its body from `wasm` instead of keeping a heap copy of it,
    ///   so a loaded module holds no copy of its code section. With
    ///   [`CompilationMode::Eager`] functions are translated as by [`Module::new`].
    /// - In every mode an active data segment borrows its bytes from `wasm`, so a loaded module
    ///   holds no copy of its data section (passive segments are still copied).
    /// - With the `wat` feature, WebAssembly text is accepted and compiled as by
    ///   [`Module::new`] (its binary is not `'static`, so its function bodies are copied).
    ///
    /// # Errors
    ///
    /// As [`Module::new`].
    ///
    /// [`CompilationMode::Lazy`]: crate::CompilationMode::Lazy
    /// [`CompilationMode::LazyTranslation`]: crate::CompilationMode::LazyTranslation
    /// [`CompilationMode::Eager`]: crate::CompilationMode::Eager
    #[cfg(feature = "validate")]
    pub fn new_static(engine: &Engine, wasm: &'static [u8]) -> Result<Self, Error> {
        #[cfg(feature = "wat")]
        if let alloc::borrow::Cow::Owned(binary) = wat::parse_bytes(wasm)? {
            return ModuleParser::new(engine).parse_buffered(&binary[..]);
        }
        ModuleParser::new(engine).parse_buffered_static(wasm)
    }

    /// Creates a new Wasm [`Module`] from the given Wasm bytecode buffer.
    ///
    /// # Note
    ///
    /// This parses and translates the buffered Wasm bytecode.
    ///
    /// # Safety
    ///
    /// - This does _not_ validate the Wasm bytecode.
    /// - It is the caller's responsibility that the Wasm bytecode is valid.
    /// - It is the caller's responsibility that the Wasm bytecode adheres
    ///   to the restrictions set by the used [`Config`] of the `engine`.
    /// - Violating the above rules is undefined behavior.
    ///
    /// # Errors
    ///
    /// - If the Wasm bytecode is malformed or contains invalid sections.
    /// - If the Wasm bytecode fails to be compiled by Wasmi.
    ///
    /// [`Config`]: crate::Config
    pub unsafe fn new_unchecked(engine: &Engine, wasm: &[u8]) -> Result<Self, Error> {
        let parser = ModuleParser::new(engine);
        unsafe { parser.parse_buffered_unchecked(wasm) }
    }

    /// Returns the [`Engine`] used during creation of the [`Module`].
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Returns a shared reference to the [`ModuleHeaderInner`].
    fn module_header(&self) -> &ModuleHeaderInner {
        &self.inner.header.inner
    }

    /// Validates `wasm` as a WebAssembly binary given the configuration (via [`Config`]) in `engine`.
    ///
    /// This function performs Wasm validation of the binary input WebAssembly module and
    /// returns either `Ok` or `Err` depending on the results of the validation.
    /// The [`Config`] of the `engine` is used for Wasm validation which indicates which WebAssembly
    /// features are valid and invalid for the validation.
    ///
    /// # Note
    ///
    /// - The input `wasm` must be in binary form, the text format is not accepted by this function.
    /// - This will only validate the `wasm` but not try to translate it. Therefore `Module::new`
    ///   might still fail if translation of the Wasm binary input fails to translate via the Wasmi
    ///   [`Engine`].
    /// - Validation automatically happens as part of [`Module::new`].
    ///
    /// # Errors
    ///
    /// If Wasm validation for `wasm` fails for the given [`Config`] provided via `engine`.
    ///
    /// [`Config`]: crate::Config
    #[cfg(feature = "validate")]
    pub fn validate(engine: &Engine, wasm: &[u8]) -> Result<(), Error> {
        let mut validator = Validator::new_with_features(engine.config().wasm_features());
        for payload in Parser::new(0).parse_all(wasm) {
            let payload = payload?;
            if let ValidPayload::Func(func_to_validate, func_body) = validator.payload(&payload)? {
                func_to_validate
                    .into_validator(FuncValidatorAllocations::default())
                    .validate(&func_body)?;
            }
        }
        Ok(())
    }

    /// Returns the number of functions of the [`Module`], imported and its own.
    pub(crate) fn len_funcs(&self) -> usize {
        self.module_header().funcs.len()
    }

    /// Returns the number of non-imported tables of the [`Module`].
    pub(crate) fn len_tables(&self) -> usize {
        self.module_header().tables.len()
    }

    /// Returns the number of non-imported linear memories of the [`Module`].
    pub(crate) fn len_memories(&self) -> usize {
        self.module_header().memories.len()
    }

    /// Returns the number of non-imported global variables of the [`Module`].
    pub(crate) fn len_globals(&self) -> usize {
        self.module_header().globals.len()
    }

    /// Returns the [`InstanceLayout`] shared by all instances of this [`Module`].
    pub(crate) fn instance_layout(&self) -> &InstanceLayout {
        &self.module_header().layout
    }

    /// Returns an iterator over the imports of the [`Module`].
    pub fn imports(&self) -> ModuleImportsIter<'_> {
        let header = self.module_header();
        let imports = &header.imports;
        ModuleImportsIter {
            engine: self.engine(),
            names: imports.items.iter(),
            func_types: &header.func_types,
            funcs: header.funcs[..imports.len_funcs].iter(),
            tables: header.tables[..imports.len_tables].iter(),
            memories: header.memories[..imports.len_memories].iter(),
            globals: header.globals[..imports.len_globals].iter(),
        }
    }

    /// Returns the imports of the [`Module`].
    pub(crate) fn get_imports(&self) -> &ModuleImports {
        &self.module_header().imports
    }

    /// Returns an iterator over the internally defined [`Func`].
    ///
    /// [`Func`]: [`crate::Func`]
    pub(crate) fn internal_funcs(&self) -> InternalFuncsIter<'_> {
        let header = self.module_header();
        let len_imported = header.imports.len_funcs;
        // We skip the first `len_imported` elements in `funcs`
        // since they refer to imported and not internally defined
        // functions.
        let funcs = &header.funcs[len_imported..];
        let engine_funcs = header.engine_funcs.iter();
        assert_eq!(funcs.len(), engine_funcs.len());
        InternalFuncsIter {
            func_types: &header.func_types,
            iter: funcs.iter().zip(engine_funcs),
        }
    }

    /// Returns an iterator over the [`MemoryType`] of internal linear memories.
    fn internal_memories(&self) -> SliceIter<'_, MemoryType> {
        let header = self.module_header();
        let len_imported = header.imports.len_memories;
        // We skip the first `len_imported` elements in `memories`
        // since they refer to imported and not internally defined
        // linear memories.
        let memories = &header.memories[len_imported..];
        memories.iter()
    }

    /// Returns an iterator over the [`TableType`] of internal tables.
    fn internal_tables(&self) -> SliceIter<'_, TableType> {
        let header = self.module_header();
        let len_imported = header.imports.len_tables;
        // We skip the first `len_imported` elements in `tables`
        // since they refer to imported and not internally defined
        // tables.
        let tables = &header.tables[len_imported..];
        tables.iter()
    }

    /// Returns an iterator over the internally defined [`Global`].
    fn internal_globals(&self) -> InternalGlobalsIter<'_> {
        let header = self.module_header();
        let len_imported = header.imports.len_globals;
        // We skip the first `len_imported` elements in `globals`
        // since they refer to imported and not internally defined
        // global variables.
        let globals = header.globals[len_imported..].iter();
        let global_inits = header.globals_init.iter();
        InternalGlobalsIter {
            iter: globals.zip(global_inits),
        }
    }

    /// Returns an iterator over the exports of the [`Module`].
    pub fn exports(&self) -> ModuleExportsIter<'_> {
        ModuleExportsIter::new(self)
    }

    /// Looks up an export in this [`Module`] by its `name`.
    ///
    /// Returns `None` if no export with the name was found.
    ///
    /// # Note
    ///
    /// This function will return the type of an export with the given `name`.
    pub fn get_export(&self, name: &str) -> Option<ExternType> {
        let idx = self.module_header().exports.get(name).copied()?;
        let ty = self.get_extern_type(idx);
        Some(ty)
    }

    /// Returns the [`ExternType`] for a given [`ExternIdx`].
    ///
    /// # Note
    ///
    /// This function assumes that the given [`ExternType`] is valid.
    fn get_extern_type(&self, idx: ExternIdx) -> ExternType {
        let header = self.module_header();
        match idx {
            ExternIdx::Func(index) => {
                let dedup = self.inner.header.get_type_of_func(index);
                let func_type = self.engine().resolve_func_type(dedup, Clone::clone);
                ExternType::Func(func_type)
            }
            ExternIdx::Table(index) => {
                let table_type = header.tables[index.into_u32() as usize];
                ExternType::Table(table_type)
            }
            ExternIdx::Memory(index) => {
                let memory_type = header.memories[index.into_u32() as usize];
                ExternType::Memory(memory_type)
            }
            ExternIdx::Global(index) => {
                let global_type = header.globals[index.into_u32() as usize];
                ExternType::Global(global_type)
            }
        }
    }

    /// Returns an iterator yielding the custom sections of the Wasm [`Module`].
    ///
    /// # Note
    ///
    /// The returned iterator will yield no items if [`Config::ignore_custom_sections`]
    /// is set to `true` even if the original Wasm module contains custom sections.
    ///
    ///
    /// [`Config::ignore_custom_sections`]: crate::Config::ignore_custom_sections
    #[inline]
    pub fn custom_sections(&self) -> CustomSectionsIter<'_> {
        self.inner.custom_sections.iter()
    }
}

/// An iterator over the imports of a [`Module`].
#[derive(Debug)]
pub struct ModuleImportsIter<'a> {
    engine: &'a Engine,
    names: SliceIter<'a, Imported>,
    func_types: &'a [DedupFuncType],
    funcs: SliceIter<'a, FuncTypeIdx>,
    tables: SliceIter<'a, TableType>,
    memories: SliceIter<'a, MemoryType>,
    globals: SliceIter<'a, GlobalType>,
}

impl<'a> Iterator for ModuleImportsIter<'a> {
    type Item = ImportType<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let import = {
            let imported = self.names.next()?;
            match imported {
                Imported::Func(name) => {
                    let func_type_idx = self.funcs.next().unwrap_or_else(|| {
                        panic!("unexpected missing imported function for {name}")
                    });
                    let func_type = func_type_at(self.func_types, *func_type_idx);
                    let func_type = self.engine.resolve_func_type(func_type, FuncType::clone);
                    ImportType::new(name, func_type)
                }
                Imported::Table(name) => {
                    let table_type = self
                        .tables
                        .next()
                        .unwrap_or_else(|| panic!("unexpected missing imported table for {name}"));
                    ImportType::new(name, *table_type)
                }
                Imported::Memory(name) => {
                    let memory_type = self.memories.next().unwrap_or_else(|| {
                        panic!("unexpected missing imported linear memory for {name}")
                    });
                    ImportType::new(name, *memory_type)
                }
                Imported::Global(name) => {
                    let global_type = self.globals.next().unwrap_or_else(|| {
                        panic!("unexpected missing imported global variable for {name}")
                    });
                    ImportType::new(name, *global_type)
                }
            }
        };
        Some(import)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.names.size_hint()
    }
}

impl ExactSizeIterator for ModuleImportsIter<'_> {
    fn len(&self) -> usize {
        ExactSizeIterator::len(&self.names)
    }
}

/// A descriptor for an imported value into a Wasm [`Module`].
///
/// This type is primarily accessed from the [`Module::imports`] method.
/// Each [`ImportType`] describes an import into the Wasm module with the `module/name`
/// that it is imported from as well as the type of item that is being imported.
#[derive(Debug)]
pub struct ImportType<'module> {
    /// The name of the imported item.
    name: &'module ImportName,
    /// The external item type.
    ty: ExternType,
}

impl<'module> ImportType<'module> {
    /// Creates a new [`ImportType`].
    pub(crate) fn new<T>(name: &'module ImportName, ty: T) -> Self
    where
        T: Into<ExternType>,
    {
        Self {
            name,
            ty: ty.into(),
        }
    }

    /// Returns the import name.
    pub(crate) fn import_name(&self) -> &ImportName {
        self.name
    }

    /// Returns the module import name.
    pub fn module(&self) -> &'module str {
        self.name.module()
    }

    /// Returns the field import name.
    pub fn name(&self) -> &'module str {
        self.name.name()
    }

    /// Returns the import item type.
    pub fn ty(&self) -> &ExternType {
        &self.ty
    }
}

/// An iterator over the internally defined functions of a [`Module`].
#[derive(Debug)]
pub struct InternalFuncsIter<'a> {
    func_types: &'a [DedupFuncType],
    iter: iter::Zip<SliceIter<'a, FuncTypeIdx>, EngineFuncSpanIter>,
}

impl Iterator for InternalFuncsIter<'_> {
    type Item = (DedupFuncType, EngineFunc);

    fn next(&mut self) -> Option<Self::Item> {
        self.iter
            .next()
            .map(|(idx, engine_func)| (*func_type_at(self.func_types, *idx), engine_func))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl ExactSizeIterator for InternalFuncsIter<'_> {
    fn len(&self) -> usize {
        ExactSizeIterator::len(&self.iter)
    }
}

/// An iterator over the internally defined functions of a [`Module`].
#[derive(Debug)]
pub struct InternalGlobalsIter<'a> {
    iter: iter::Zip<SliceIter<'a, GlobalType>, SliceIter<'a, ConstExpr>>,
}

impl<'a> Iterator for InternalGlobalsIter<'a> {
    type Item = (&'a GlobalType, &'a ConstExpr);

    fn next(&mut self) -> Option<Self::Item> {
        self.iter.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl ExactSizeIterator for InternalGlobalsIter<'_> {
    fn len(&self) -> usize {
        ExactSizeIterator::len(&self.iter)
    }
}

#[cfg(all(test, feature = "wat"))]
mod new_static_tests {
    use super::*;
    use crate::{CompilationMode, Config, Linker, Store};
    use alloc::{string::ToString, vec::Vec};

    /// A recursive function (body longer than `SmallByteSlice`'s inline buffer), a short one,
    /// an indirect call, and one that is never called.
    const WAT: &str = r#"
        (module
            (table 1 funcref)
            (elem (i32.const 0) $tiny)
            (func $fib (export "fib") (param i64) (result i64)
                (if (result i64) (i64.lt_u (local.get 0) (i64.const 2))
                    (then (local.get 0))
                    (else
                        (i64.add
                            (call $fib (i64.sub (local.get 0) (i64.const 1)))
                            (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
            (func $tiny (export "tiny") (result i32) (i32.const 7))
            (func (export "indirect") (result i32) (call_indirect (result i32) (i32.const 0)))
            (func (export "never") (result i32) (i32.const 1)))
    "#;

    const MODES: [CompilationMode; 3] = [
        CompilationMode::Eager,
        CompilationMode::LazyTranslation,
        CompilationMode::Lazy,
    ];

    fn static_wasm(wat: &str) -> &'static [u8] {
        Vec::leak(wat::parse_str(wat).unwrap())
    }

    fn engine(mode: CompilationMode) -> Engine {
        let mut config = Config::default();
        config.compilation_mode(mode).consume_fuel(true);
        Engine::new(&config)
    }

    /// Runs `fib(20)`, `tiny` and `indirect`, and returns their results and the fuel used.
    fn run(module: &Module) -> (i64, i32, i32, u64) {
        let mut store = Store::new(module.engine(), ());
        store.set_fuel(1_000_000_000).unwrap();
        let instance = Linker::new(module.engine())
            .instantiate_and_start(&mut store, module)
            .unwrap();
        let fib = instance.get_typed_func::<i64, i64>(&store, "fib").unwrap();
        let tiny = instance.get_typed_func::<(), i32>(&store, "tiny").unwrap();
        let indirect = instance
            .get_typed_func::<(), i32>(&store, "indirect")
            .unwrap();
        let results = (
            fib.call(&mut store, 20).unwrap(),
            tiny.call(&mut store, ()).unwrap(),
            indirect.call(&mut store, ()).unwrap(),
        );
        let fuel = 1_000_000_000 - store.get_fuel().unwrap();
        (results.0, results.1, results.2, fuel)
    }

    #[test]
    fn lazy_functions_borrow_static_bodies() {
        let wasm = static_wasm(WAT);
        for mode in MODES {
            let engine = engine(mode);
            let borrowed = Module::new_static(&engine, wasm).unwrap();
            let copied = Module::new(&engine, wasm).unwrap();
            let funcs = borrowed.internal_funcs().zip(copied.internal_funcs());
            assert_eq!(funcs.len(), 4);
            for ((_, borrowed), (_, copied)) in funcs {
                let borrowed = engine.uncompiled_bytes(borrowed);
                let copied = engine.uncompiled_bytes(copied);
                if matches!(mode, CompilationMode::Eager) {
                    assert!(borrowed.is_none() && copied.is_none(), "{mode:?}");
                    continue;
                }
                let (borrowed, is_static) = borrowed.unwrap();
                let (copied, copy_is_static) = copied.unwrap();
                assert!(is_static && !copy_is_static, "{mode:?}");
                assert!(wasm.as_ptr_range().contains(&borrowed.as_ptr()), "{mode:?}");
                assert_eq!(borrowed, copied, "{mode:?}");
            }
            let expected = run(&copied);
            assert_eq!((expected.0, expected.1, expected.2), (6765, 7, 7));
            assert_eq!(run(&borrowed), expected, "{mode:?}");
            // Translated on first use: the functions that ran hold no body any more.
            let mut remaining = borrowed
                .internal_funcs()
                .filter_map(|(_, func)| engine.uncompiled_bytes(func));
            if !matches!(mode, CompilationMode::Eager) {
                assert!(matches!(remaining.next(), Some((_, true))), "{mode:?}");
            }
            assert!(remaining.next().is_none(), "{mode:?}");
        }
    }

    #[test]
    fn active_data_segments_borrow_static_bytes() {
        let wasm = static_wasm(
            r#"(module
                (memory (export "memory") 1)
                (data (i32.const 8) "hello, static world")
                (data (i32.const 100) "second"))"#,
        );
        for mode in MODES {
            let engine = engine(mode);
            let borrowed = Module::new_static(&engine, wasm).unwrap();
            let copied = Module::new(&engine, wasm).unwrap();
            let mut memories = Vec::new();
            for (module, is_static) in [(&borrowed, true), (&copied, false)] {
                let mut segments = 0;
                for segment in &module.inner.data_segments {
                    let InitDataSegment::Active { bytes, .. } = segment else {
                        panic!("{mode:?}: a passive segment");
                    };
                    let in_wasm = wasm.as_ptr_range().contains(&bytes.as_ptr());
                    assert_eq!(in_wasm, is_static, "{mode:?}");
                    segments += 1;
                }
                assert_eq!(segments, 2, "{mode:?}");
                let mut store = Store::new(&engine, ());
                let instance = Linker::new(&engine)
                    .instantiate_and_start(&mut store, module)
                    .unwrap();
                let memory = instance.get_memory(&store, "memory").unwrap();
                memories.push(memory.data(&store)[..128].to_vec());
            }
            assert_eq!(&memories[0][8..27], b"hello, static world", "{mode:?}");
            assert_eq!(&memories[0][100..106], b"second", "{mode:?}");
            assert_eq!(memories[0], memories[1], "{mode:?}");
        }
    }

    #[test]
    fn new_static_validates() {
        // `bad` returns nothing where `i32` is expected.
        let wasm = static_wasm(r#"(module (func (export "ok")) (func $bad (result i32)))"#);
        for mode in [CompilationMode::Eager, CompilationMode::LazyTranslation] {
            let engine = engine(mode);
            let copied = Module::new(&engine, wasm).unwrap_err();
            let borrowed = Module::new_static(&engine, wasm).unwrap_err();
            assert_eq!(borrowed.to_string(), copied.to_string(), "{mode:?}");
        }
        let truncated = &wasm[..wasm.len() - 1];
        let engine = engine(CompilationMode::LazyTranslation);
        assert!(Module::new_static(&engine, truncated).is_err());
    }
}

#[cfg(test)]
mod func_types_tests {
    use crate::{Engine, ExternType, Module, ValType};
    use alloc::{
        string::ToString,
        vec,
        vec::Vec,
    };

    /// pluginhost: a function's type is an index into the module's type table; imports, exports
    /// and internal functions of several types still report theirs.
    #[test]
    fn each_function_keeps_its_type() {
        let wat = r#"
            (module
                (type $a (func (param i32) (result i32)))
                (type $b (func (param i64 f32)))
                (type $c (func (result f64)))
                (import "env" "b" (func $ib (type $b)))
                (import "env" "a" (func $ia (type $a)))
                (func $c (export "c") (type $c) f64.const 1)
                (func $a (export "a") (type $a) local.get 0)
                (func $b (export "b") (type $b))
                (export "ia" (func $ia))
            )
        "#;
        let engine = Engine::default();
        let module = Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
        let params_results = |ty: &ExternType| {
            let f = ty.func().unwrap();
            (f.params().to_vec(), f.results().to_vec())
        };
        let a = (vec![ValType::I32], vec![ValType::I32]);
        let b = (vec![ValType::I64, ValType::F32], vec![]);
        let c = (vec![], vec![ValType::F64]);
        let imports: Vec<_> = module.imports().map(|i| params_results(i.ty())).collect();
        assert_eq!(imports, [b.clone(), a.clone()]);
        // In name order.
        let exports: Vec<_> = module
            .exports()
            .map(|e| (e.name().to_string(), params_results(e.ty())))
            .collect();
        assert_eq!(
            exports,
            [
                ("a".to_string(), a.clone()),
                ("b".to_string(), b),
                ("c".to_string(), c),
                ("ia".to_string(), a),
            ]
        );
        assert_eq!(module.internal_funcs().len(), 3);
    }
}

//! wasm3 0.5.0 through its C API (the library build.rs compiles with the `peer-wasm3` feature).
//!
//! Only what the throughput benchmark needs: parse and load a module without imports, find an
//! exported `() -> i32` function, call it.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;

type M3Result = *const c_char;

extern "C" {
    fn m3_NewEnvironment() -> *mut c_void;
    fn m3_FreeEnvironment(env: *mut c_void);
    fn m3_NewRuntime(env: *mut c_void, stack_bytes: u32, user_data: *mut c_void) -> *mut c_void;
    fn m3_FreeRuntime(runtime: *mut c_void);
    fn m3_ParseModule(env: *mut c_void, module: *mut *mut c_void, bytes: *const u8, len: u32) -> M3Result;
    fn m3_LoadModule(runtime: *mut c_void, module: *mut c_void) -> M3Result;
    fn m3_FindFunction(function: *mut *mut c_void, runtime: *mut c_void, name: *const c_char) -> M3Result;
    fn m3_Call(function: *mut c_void, argc: u32, argptrs: *const *const c_void) -> M3Result;
    fn m3_GetResults(function: *mut c_void, retc: u32, retptrs: *const *const c_void) -> M3Result;
}

fn check(result: M3Result) -> Result<(), String> {
    if result.is_null() {
        Ok(())
    } else {
        // SAFETY: wasm3 returns static NUL-terminated error strings.
        Err(unsafe { CStr::from_ptr(result) }.to_string_lossy().into_owned())
    }
}

/// A wasm3 environment and runtime with one loaded module. The module's bytes must outlive it
/// (wasm3 keeps pointers into them), so it keeps its own copy.
pub struct Wasm3 {
    env: *mut c_void,
    runtime: *mut c_void,
    _wasm: Box<[u8]>,
}

/// A function found in a [`Wasm3`] runtime.
#[derive(Clone, Copy)]
pub struct Wasm3Func(*mut c_void);

impl Wasm3 {
    /// Parses and loads `wasm` into a runtime with a 1 MiB wasm3 stack.
    pub fn new(wasm: &[u8]) -> Result<Wasm3, String> {
        let wasm: Box<[u8]> = wasm.into();
        // SAFETY: plain C API use; every pointer passed is live for the call.
        unsafe {
            let env = m3_NewEnvironment();
            let runtime = m3_NewRuntime(env, 1 << 20, ptr::null_mut());
            let this = Wasm3 { env, runtime, _wasm: wasm };
            if env.is_null() || runtime.is_null() {
                return Err("wasm3: out of memory".into());
            }
            let mut module = ptr::null_mut();
            let len = u32::try_from(this._wasm.len()).map_err(|_| "module too large")?;
            check(m3_ParseModule(env, &mut module, this._wasm.as_ptr(), len))?;
            check(m3_LoadModule(runtime, module))?;
            Ok(this)
        }
    }

    /// The exported function `name`.
    pub fn func(&self, name: &str) -> Result<Wasm3Func, String> {
        let name = CString::new(name).map_err(|e| e.to_string())?;
        let mut function = ptr::null_mut();
        // SAFETY: the runtime is live; wasm3 compiles the function here.
        check(unsafe { m3_FindFunction(&mut function, self.runtime, name.as_ptr()) })?;
        Ok(Wasm3Func(function))
    }

    /// Calls a `() -> i32` function of this runtime.
    #[inline]
    pub fn call(&self, f: Wasm3Func) -> Result<i32, String> {
        let mut ret: i32 = 0;
        let rets = [(&mut ret as *mut i32).cast::<c_void>().cast_const()];
        // SAFETY: `f` belongs to this runtime; one i32 result slot.
        unsafe {
            check(m3_Call(f.0, 0, ptr::null()))?;
            check(m3_GetResults(f.0, 1, rets.as_ptr()))?;
        }
        Ok(ret)
    }
}

impl Drop for Wasm3 {
    fn drop(&mut self) {
        // SAFETY: created in `new`; the runtime owns the loaded module.
        unsafe {
            m3_FreeRuntime(self.runtime);
            m3_FreeEnvironment(self.env);
        }
    }
}

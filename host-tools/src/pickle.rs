//! A safe reader for numpy pickles: a small pickle *interpreter* that never executes
//! anything.
//!
//! Python's `pickle.load` runs whatever callables a stream names. This reader understands the
//! opcodes of protocols 2 to 5 and resolves only a whitelist of globals, each of which it
//! *interprets* (it builds the array or dtype the call would build) rather than calls:
//!
//! | global                                                      | interpreted as            |
//! |-------------------------------------------------------------|---------------------------|
//! | `numpy.core.multiarray._reconstruct` (numpy 2: `numpy._core.…`) | an empty array, filled by `BUILD` |
//! | `numpy.ndarray`                                             | its argument only         |
//! | `numpy.dtype`                                               | a dtype, completed by `BUILD` |
//! | `numpy.core.numeric._frombuffer` (numpy 2: `numpy._core.…`) | an array from a buffer (protocol 5) |
//! | `_codecs.encode`                                            | latin-1 text to bytes (protocol 2) |
//! | `collections.OrderedDict`                                   | a dict                    |
//!
//! Any other global is refused with an error naming it, before anything else happens.
//! Declared lengths are checked against the bytes left before any allocation, nesting is
//! bounded, and every malformed stream is an error, never a panic.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Deepest nesting of containers accepted.
pub const MAX_DEPTH: usize = 100;

/// What went wrong reading a pickle.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PickleError {
    /// The stream ends inside an opcode or before `STOP`.
    #[error("pickle is truncated: {what} at byte {at} runs past the end of the file")]
    Truncated {
        /// Byte offset of the opcode.
        at: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A length field declares more bytes than the file has left.
    #[error("pickle declares {declared} bytes at byte {at}, but only {available} remain")]
    LengthTooLarge {
        /// Byte offset of the opcode.
        at: usize,
        /// The declared length.
        declared: u64,
        /// Bytes left in the file.
        available: usize,
    },
    /// An opcode this reader does not accept.
    #[error("unsupported pickle opcode {op:#04x} ({name}) at byte {at}")]
    UnsupportedOpcode {
        /// Byte offset of the opcode.
        at: usize,
        /// The opcode byte.
        op: u8,
        /// Its name in `pickletools`, when known.
        name: &'static str,
    },
    /// A global outside the whitelist.
    #[error("pickle refers to the forbidden global {module}.{name}; nothing was executed")]
    ForbiddenGlobal {
        /// The module.
        module: String,
        /// The name within the module.
        name: String,
    },
    /// The stack does not hold what an opcode needs.
    #[error("malformed pickle at byte {at}: {problem}")]
    Malformed {
        /// Byte offset of the opcode.
        at: usize,
        /// What was wrong.
        problem: String,
    },
    /// Containers nested deeper than [`MAX_DEPTH`].
    #[error("pickle nests containers deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The pickle's top-level object is not a dict.
    #[error("pickle's top-level object is {found}, not a dict of arrays")]
    NotADict {
        /// What it is.
        found: &'static str,
    },
    /// A numpy array this reader cannot convert.
    #[error("array '{name}': {problem}")]
    BadArray {
        /// The dict key of the array.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// A NaN or infinite value in an array.
    #[error("array '{name}' holds a NaN or infinite value at flat index {index}")]
    NotFinite {
        /// The dict key of the array.
        name: String,
        /// Row-major flat index of the value.
        index: usize,
    },
}

type Result<T> = std::result::Result<T, PickleError>;

/// A float array from the pickle, converted to row-major f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// The array's shape (numpy's `arr.shape`).
    pub shape: Vec<usize>,
    /// The values in row-major (C) order.
    pub data: Vec<f32>,
}

/// The result of reading a pickle: its dict's entries in stream order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ArrayDict {
    /// `(key, array)` pairs whose value is a float array.
    pub arrays: Vec<(String, Array)>,
    /// Keys whose values are not arrays (ignored).
    pub other_keys: Vec<String>,
}

impl ArrayDict {
    /// The array under `key`.
    pub fn get(&self, key: &str) -> Option<&Array> {
        self.arrays.iter().find(|(k, _)| k == key).map(|(_, a)| a)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Global {
    Reconstruct,
    Ndarray,
    Dtype,
    FromBuffer,
    CodecsEncode,
    OrderedDict,
}

fn resolve_global(module: &str, name: &str) -> Result<Global> {
    Ok(match (module, name) {
        ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => Global::Reconstruct,
        ("numpy", "ndarray") => Global::Ndarray,
        ("numpy", "dtype") => Global::Dtype,
        ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => Global::FromBuffer,
        ("_codecs", "encode") => Global::CodecsEncode,
        ("collections", "OrderedDict") => Global::OrderedDict,
        _ => {
            return Err(PickleError::ForbiddenGlobal {
                module: module.into(),
                name: name.into(),
            });
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ByteOrder {
    Little,
    Big,
    Unset,
}

#[derive(Debug, Clone, PartialEq)]
struct Dtype {
    /// 4 or 8 (f4 or f8); other descriptors are kept to be reported.
    descr: String,
    order: ByteOrder,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct RawArray {
    shape: Vec<usize>,
    dtype: Option<Rc<RefCell<Dtype>>>,
    fortran: bool,
    data: Option<Rc<Vec<u8>>>,
    built: bool,
}

/// A value on the pickle machine's stack. Containers are shared (`Rc`) so that `DUP`,
/// the memo and `BUILD` behave as Python's object references do.
#[derive(Debug, Clone)]
enum Value {
    Mark,
    None,
    Bool(bool),
    Int(i64),
    Float,
    Str(Rc<str>),
    Bytes(Rc<Vec<u8>>),
    Tuple(Rc<[Value]>, usize),
    List(ListRef, usize),
    Dict(DictRef, usize),
    Global(Global),
    Dtype(Rc<RefCell<Dtype>>),
    Array(Rc<RefCell<RawArray>>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Mark => "a mark",
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float => "a float",
            Value::Str(_) => "a str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(..) => "a tuple",
            Value::List(..) => "a list",
            Value::Dict(..) => "a dict",
            Value::Global(_) => "a global",
            Value::Dtype(_) => "a numpy dtype",
            Value::Array(_) => "a numpy array",
        }
    }

    fn depth(&self) -> usize {
        match self {
            Value::Tuple(_, d) | Value::List(_, d) | Value::Dict(_, d) => *d,
            _ => 0,
        }
    }
}

fn opcode_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'L' => "LONG",
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'i' => "INST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'g' => "GET",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown",
    }
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Offset of the opcode being run.
    at: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
    /// Every list and dict made, so that dropping the machine can empty them: a stream can
    /// put a container inside itself (`DUP` then `SETITEM`), and reference counting alone
    /// would never free such a cycle (found by fuzzing).
    lists: Vec<ListRef>,
    dicts: Vec<DictRef>,
}

/// A shared, mutable list.
type ListRef = Rc<RefCell<Vec<Value>>>;
/// A shared, mutable dict (entries in insertion order).
type DictRef = Rc<RefCell<Vec<(Value, Value)>>>;

impl Drop for Machine<'_> {
    fn drop(&mut self) {
        for l in &self.lists {
            l.borrow_mut().clear();
        }
        for d in &self.dicts {
            d.borrow_mut().clear();
        }
    }
}

impl<'a> Machine<'a> {
    fn malformed(&self, problem: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            at: self.at,
            problem: problem.into(),
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(PickleError::Truncated { at: self.at, what })?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1, "a 1-byte argument")?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N, "a fixed-size argument")?);
        Ok(a)
    }

    /// Reads `len` bytes after checking the length against what is left.
    fn sized(&mut self, len: u64) -> Result<&'a [u8]> {
        let available = self.data.len() - self.pos;
        if len > available as u64 {
            return Err(PickleError::LengthTooLarge {
                at: self.at,
                declared: len,
                available,
            });
        }
        self.take(len as usize, "a string")
    }

    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated {
                at: self.at,
                what: "a text line",
            })?;
        self.pos += n + 1;
        std::str::from_utf8(&rest[..n]).map_err(|_| self.malformed("a text line is not UTF-8"))
    }

    fn pop(&mut self) -> Result<Value> {
        match self.stack.pop() {
            Some(Value::Mark) | None => Err(self.malformed("stack underflow")),
            Some(v) => Ok(v),
        }
    }

    fn top(&mut self) -> Result<&mut Value> {
        match self.stack.last_mut() {
            Some(Value::Mark) | None => Err(PickleError::Malformed {
                at: self.at,
                problem: "stack underflow".into(),
            }),
            Some(v) => Ok(v),
        }
    }

    /// Pops everything down to the topmost mark, and the mark.
    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let m = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or_else(|| self.malformed("no mark on the stack"))?;
        let items = self.stack.split_off(m + 1);
        self.stack.pop();
        Ok(items)
    }

    fn str_value(&self, b: &[u8]) -> Result<Value> {
        let s = std::str::from_utf8(b).map_err(|_| self.malformed("text is not UTF-8"))?;
        Ok(Value::Str(s.into()))
    }

    fn push_tuple(&mut self, items: Vec<Value>) -> Result<()> {
        let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
        if depth > MAX_DEPTH {
            return Err(PickleError::TooDeep);
        }
        self.stack.push(Value::Tuple(items.into(), depth));
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>) -> Result<()> {
        let child = items.iter().map(Value::depth).max().unwrap_or(0);
        match self.top()? {
            Value::List(l, depth) => {
                *depth = (*depth).max(child + 1);
                if *depth > MAX_DEPTH {
                    return Err(PickleError::TooDeep);
                }
                l.borrow_mut().extend(items);
                Ok(())
            }
            other => {
                let kind = other.kind();
                Err(self.malformed(format!("APPEND to {kind}, not a list")))
            }
        }
    }

    fn set_items(&mut self, items: Vec<Value>) -> Result<()> {
        if !items.len().is_multiple_of(2) {
            return Err(self.malformed("SETITEMS with an odd number of items"));
        }
        let child = items.iter().map(Value::depth).max().unwrap_or(0);
        match self.top()? {
            Value::Dict(d, depth) => {
                *depth = (*depth).max(child + 1);
                if *depth > MAX_DEPTH {
                    return Err(PickleError::TooDeep);
                }
                let mut d = d.borrow_mut();
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    d.push((k, v));
                }
                Ok(())
            }
            other => {
                let kind = other.kind();
                Err(self.malformed(format!("SETITEM on {kind}, not a dict")))
            }
        }
    }

    fn memo_get(&self, key: u32) -> Result<Value> {
        self.memo
            .get(&key)
            .cloned()
            .ok_or_else(|| self.malformed(format!("memo entry {key} is not set")))
    }

    fn memo_put(&mut self, key: u32) -> Result<()> {
        let v = self.top()?.clone();
        self.memo.insert(key, v);
        Ok(())
    }

    fn new_list(&mut self) -> Value {
        let l = Rc::new(RefCell::new(Vec::new()));
        self.lists.push(l.clone());
        Value::List(l, 1)
    }

    fn new_dict(&mut self) -> Value {
        let d = Rc::new(RefCell::new(Vec::new()));
        self.dicts.push(d.clone());
        Value::Dict(d, 1)
    }

    fn run(&mut self) -> Result<Value> {
        loop {
            self.at = self.pos;
            let op = *self.data.get(self.pos).ok_or(PickleError::Truncated {
                at: self.pos,
                what: "the STOP opcode",
            })?;
            self.pos += 1;
            match op {
                0x80 => {
                    let proto = self.u8()?;
                    if proto > 5 {
                        return Err(self.malformed(format!("protocol {proto} is newer than 5")));
                    }
                }
                0x95 => {
                    self.le::<8>()?; // FRAME: a length hint only
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                b'(' => self.stack.push(Value::Mark),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v.into()));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.le()?);
                    self.stack.push(Value::Int(v.into()));
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.le()?);
                    self.stack.push(Value::Int(v.into()));
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        u64::from(self.u8()?)
                    } else {
                        u64::from(u32::from_le_bytes(self.le()?))
                    };
                    let b = self.sized(n)?;
                    if b.len() > 8 {
                        return Err(self.malformed("an integer wider than 64 bits"));
                    }
                    let mut v: i64 = 0;
                    for (i, &byte) in b.iter().enumerate() {
                        v |= i64::from(byte) << (8 * i);
                    }
                    if let Some(&last) = b.last()
                        && b.len() < 8
                        && last & 0x80 != 0
                    {
                        v -= 1i64 << (8 * b.len()); // sign-extend
                    }
                    self.stack.push(Value::Int(v));
                }
                b'G' => {
                    self.le::<8>()?; // a float: no numpy array needs its value
                    self.stack.push(Value::Float);
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        0x8c => u64::from(self.u8()?),
                        b'X' => u64::from(u32::from_le_bytes(self.le()?)),
                        _ => u64::from_le_bytes(self.le()?),
                    };
                    let b = self.sized(n)?;
                    let v = self.str_value(b)?;
                    self.stack.push(v);
                }
                b'B' | b'C' | 0x8e | 0x96 | b'T' | b'U' => {
                    let n = match op {
                        b'C' | b'U' => u64::from(self.u8()?),
                        b'B' => u64::from(u32::from_le_bytes(self.le()?)),
                        b'T' => {
                            let n = i32::from_le_bytes(self.le()?);
                            u64::try_from(n).map_err(|_| self.malformed("a negative length"))?
                        }
                        _ => u64::from_le_bytes(self.le()?),
                    };
                    let b = self.sized(n)?;
                    self.stack.push(Value::Bytes(Rc::new(b.to_vec())));
                }
                b'}' => {
                    let d = self.new_dict();
                    self.stack.push(d);
                }
                b']' => {
                    let l = self.new_list();
                    self.stack.push(l);
                }
                b')' => self.push_tuple(Vec::new())?,
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_tuple(items)?;
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if self.stack.len() < n
                        || self.stack[self.stack.len() - n..]
                            .iter()
                            .any(|v| matches!(v, Value::Mark))
                    {
                        return Err(self.malformed("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push_tuple(items)?;
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    let l = self.new_list();
                    self.stack.push(l);
                    self.append(items)?;
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let d = self.new_dict();
                    self.stack.push(d);
                    self.set_items(items)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                b'q' => {
                    let k = self.u8()?;
                    self.memo_put(k.into())?;
                }
                b'r' => {
                    let k = u32::from_le_bytes(self.le()?);
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = u32::try_from(self.memo.len())
                        .map_err(|_| self.malformed("memo overflow"))?;
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.u8()?;
                    let v = self.memo_get(k.into())?;
                    self.stack.push(v);
                }
                b'j' => {
                    let k = u32::from_le_bytes(self.le()?);
                    let v = self.memo_get(k)?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let g = resolve_global(module, name)?;
                    self.stack.push(Value::Global(g));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Value::Str(module), Value::Str(name)) = (module, name) else {
                        return Err(self.malformed("STACK_GLOBAL needs two strings"));
                    };
                    let g = resolve_global(&module, &name)?;
                    self.stack.push(Value::Global(g));
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = self.reduce(callable, args)?;
                    self.stack.push(v);
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?.clone();
                    self.build(target, state)?;
                }
                _ => {
                    return Err(PickleError::UnsupportedOpcode {
                        at: self.at,
                        op,
                        name: opcode_name(op),
                    });
                }
            }
        }
    }

    /// Interprets `callable(*args)` for a whitelisted global; calls nothing.
    fn reduce(&mut self, callable: Value, args: Value) -> Result<Value> {
        let Value::Global(g) = callable else {
            return Err(self.malformed(format!("REDUCE on {}, not a global", callable.kind())));
        };
        let Value::Tuple(args, _) = args else {
            return Err(self.malformed("REDUCE arguments are not a tuple"));
        };
        match (g, &args[..]) {
            (Global::Reconstruct, [Value::Global(Global::Ndarray), _, _]) => {
                Ok(Value::Array(Rc::new(RefCell::new(RawArray::default()))))
            }
            (Global::Dtype, [Value::Str(descr), ..]) => {
                let (order, descr) = match descr.as_bytes().first() {
                    Some(b'<') => (ByteOrder::Little, &descr[1..]),
                    Some(b'>') => (ByteOrder::Big, &descr[1..]),
                    _ => (ByteOrder::Unset, &descr[..]),
                };
                Ok(Value::Dtype(Rc::new(RefCell::new(Dtype {
                    descr: descr.into(),
                    order,
                }))))
            }
            (Global::FromBuffer, [buf, Value::Dtype(dtype), Value::Tuple(shape, _), order]) => {
                let Value::Bytes(data) = buf else {
                    return Err(self.malformed("_frombuffer needs a bytes buffer"));
                };
                let fortran = match order {
                    Value::Str(s) if &**s == "F" => true,
                    Value::Str(s) if &**s == "C" => false,
                    _ => return Err(self.malformed("_frombuffer order is not 'C' or 'F'")),
                };
                Ok(Value::Array(Rc::new(RefCell::new(RawArray {
                    shape: self.shape(shape)?,
                    dtype: Some(dtype.clone()),
                    fortran,
                    data: Some(data.clone()),
                    built: true,
                }))))
            }
            (Global::CodecsEncode, [Value::Str(text), Value::Str(encoding)])
                if matches!(&**encoding, "latin1" | "latin-1" | "iso-8859-1") =>
            {
                let bytes = latin1(text)
                    .ok_or_else(|| self.malformed("_codecs.encode: text is not latin-1"))?;
                Ok(Value::Bytes(Rc::new(bytes)))
            }
            (Global::OrderedDict, []) => Ok(self.new_dict()),
            (g, _) => Err(self.malformed(format!("unexpected arguments for {g:?}"))),
        }
    }

    fn shape(&self, items: &[Value]) -> Result<Vec<usize>> {
        items
            .iter()
            .map(|v| match v {
                Value::Int(n) => {
                    usize::try_from(*n).map_err(|_| self.malformed("negative dimension"))
                }
                _ => Err(self.malformed("a shape that is not a tuple of ints")),
            })
            .collect()
    }

    /// Interprets `BUILD`: `__setstate__` of a dtype or an array.
    fn build(&self, target: Value, state: Value) -> Result<()> {
        let Value::Tuple(state, _) = state else {
            return Err(self.malformed("BUILD state is not a tuple"));
        };
        match target {
            Value::Dtype(d) => {
                let order = match state.get(1) {
                    Some(Value::Str(s)) => match &**s {
                        "<" => ByteOrder::Little,
                        ">" => ByteOrder::Big,
                        "|" => ByteOrder::Unset,
                        other => {
                            return Err(self.malformed(format!("dtype byte order '{other}'")));
                        }
                    },
                    _ => return Err(self.malformed("dtype state without a byte order")),
                };
                let mut d = d.borrow_mut();
                if order != ByteOrder::Unset {
                    d.order = order;
                }
                Ok(())
            }
            Value::Array(a) => {
                // numpy's ndarray.__setstate__: (version, shape, dtype, is_fortran, rawdata);
                // very old numpy omits the version.
                let s = match &state[..] {
                    [Value::Int(_), rest @ ..] if rest.len() == 4 => rest,
                    s if s.len() == 4 => s,
                    _ => return Err(self.malformed("ndarray state is not a 4- or 5-tuple")),
                };
                let [Value::Tuple(shape, _), dtype, fortran, raw] = s else {
                    return Err(self.malformed("ndarray state has no shape tuple"));
                };
                let Value::Dtype(dtype) = dtype else {
                    return Err(self.malformed("ndarray state has no dtype"));
                };
                let fortran = match fortran {
                    Value::Bool(b) => *b,
                    Value::Int(i) => *i != 0,
                    _ => return Err(self.malformed("ndarray state: is_fortran is not a bool")),
                };
                let data = match raw {
                    Value::Bytes(b) => b.clone(),
                    Value::Str(s) => {
                        // Python 2 era streams store raw data as latin-1 text.
                        let bytes = latin1(s)
                            .ok_or_else(|| self.malformed("array text data is not latin-1"))?;
                        Rc::new(bytes)
                    }
                    other => {
                        return Err(self.malformed(format!(
                            "array data is {}, not bytes (object arrays are not supported)",
                            other.kind()
                        )));
                    }
                };
                let mut a = a.borrow_mut();
                a.shape = self.shape(shape)?;
                a.dtype = Some(dtype.clone());
                a.fortran = fortran;
                a.data = Some(data);
                a.built = true;
                Ok(())
            }
            other => Err(self.malformed(format!("BUILD on {}", other.kind()))),
        }
    }
}

/// `text.encode('latin1')`: `None` if a character is above U+00FF.
fn latin1(text: &str) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

/// Converts a built numpy array to row-major f32, checking its dtype, size and values.
fn convert(name: &str, raw: &RawArray) -> Result<Array> {
    let bad = |problem: String| PickleError::BadArray {
        name: name.into(),
        problem,
    };
    let (Some(dtype), Some(data), true) = (&raw.dtype, &raw.data, raw.built) else {
        return Err(bad("the array was never filled in (no BUILD)".into()));
    };
    let dtype = dtype.borrow();
    let size = match dtype.descr.as_str() {
        "f4" => 4,
        "f8" => 8,
        other => {
            return Err(bad(format!(
                "dtype '{other}' is not supported (only float32 'f4' and float64 'f8')"
            )));
        }
    };
    let big = match dtype.order {
        ByteOrder::Big => true,
        ByteOrder::Little => false,
        ByteOrder::Unset => return Err(bad("dtype has no byte order".into())),
    };
    let count = raw
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|n| n.checked_mul(size) == Some(data.len()))
        .ok_or_else(|| {
            bad(format!(
                "shape {:?} of {}-byte values does not match its {} data bytes",
                raw.shape,
                size,
                data.len()
            ))
        })?;
    let read = |i: usize| -> f32 {
        let b = &data[i * size..(i + 1) * size];
        match (size, big) {
            (4, false) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            (4, true) => f32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            (_, false) => {
                f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }
            (_, true) => {
                f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
            }
        }
    };
    let mut out = Vec::with_capacity(count);
    if raw.fortran && raw.shape.len() > 1 {
        // Fortran order: the first index varies fastest. Walk row-major indices and map each
        // to its column-major position.
        let dims = &raw.shape;
        let mut f_strides = vec![1usize; dims.len()];
        for k in 1..dims.len() {
            f_strides[k] = f_strides[k - 1] * dims[k - 1];
        }
        let mut index = vec![0usize; dims.len()];
        for _ in 0..count {
            let pos: usize = index.iter().zip(&f_strides).map(|(i, s)| i * s).sum();
            out.push(read(pos));
            for k in (0..dims.len()).rev() {
                index[k] += 1;
                if index[k] < dims[k] {
                    break;
                }
                index[k] = 0;
            }
        }
    } else {
        out.extend((0..count).map(read));
    }
    if let Some(index) = out.iter().position(|v| !v.is_finite()) {
        return Err(PickleError::NotFinite {
            name: name.into(),
            index,
        });
    }
    Ok(Array {
        shape: raw.shape.clone(),
        data: out,
    })
}

/// Reads a pickled dict of numpy float arrays without executing anything.
pub fn read_arrays(pickle: &[u8]) -> Result<ArrayDict> {
    let mut machine = Machine {
        data: pickle,
        pos: 0,
        at: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
        lists: Vec::new(),
        dicts: Vec::new(),
    };
    let top = machine.run()?;
    let Value::Dict(entries, _) = top else {
        return Err(PickleError::NotADict { found: top.kind() });
    };
    let mut out = ArrayDict::default();
    for (k, v) in entries.borrow().iter() {
        let key = match k {
            Value::Str(s) => s.to_string(),
            Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            other => format!("<{}>", other.kind()),
        };
        match v {
            Value::Array(a) => {
                let array = convert(&key, &a.borrow())?;
                out.arrays.push((key, array));
            }
            _ => out.other_keys.push(key),
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    //! Pickles assembled byte by byte in the layout numpy and CPython's pickler produce.
    //! No Python is needed to run these tests.
    use super::*;

    /// Opcode-level writer for test streams.
    #[derive(Default)]
    pub(crate) struct P(pub(crate) Vec<u8>);

    impl P {
        pub(crate) fn op(mut self, bytes: &[u8]) -> Self {
            self.0.extend_from_slice(bytes);
            self
        }
        pub(crate) fn proto(self, n: u8) -> Self {
            self.op(&[0x80, n])
        }
        /// BINUNICODE (protocols 1–3) or SHORT_BINUNICODE (4+).
        pub(crate) fn text(self, s: &str, short: bool) -> Self {
            if short {
                self.op(&[0x8c, s.len() as u8]).op(s.as_bytes())
            } else {
                self.op(b"X")
                    .op(&(s.len() as u32).to_le_bytes())
                    .op(s.as_bytes())
            }
        }
        /// GLOBAL 'module name' (protocols ≤ 3).
        pub(crate) fn global(self, module: &str, name: &str) -> Self {
            self.op(b"c")
                .op(module.as_bytes())
                .op(b"\n")
                .op(name.as_bytes())
                .op(b"\n")
        }
        /// STACK_GLOBAL (protocol 4+).
        pub(crate) fn stack_global(self, module: &str, name: &str) -> Self {
            self.text(module, true).text(name, true).op(&[0x93])
        }
        pub(crate) fn int(self, v: u8) -> Self {
            self.op(&[b'K', v])
        }
        pub(crate) fn binbytes(self, b: &[u8]) -> Self {
            self.op(b"B").op(&(b.len() as u32).to_le_bytes()).op(b)
        }
    }

    #[derive(Clone, Copy)]
    pub(crate) struct Spec {
        pub(crate) shape: [u8; 2],
        pub(crate) f8: bool,
        pub(crate) big: bool,
        pub(crate) fortran: bool,
    }

    /// The raw data numpy stores for `spec`, holding the row-major values 0, 1, 2, …
    /// (as `np.arange(n).reshape(shape).astype(dtype, order=…)`).
    pub(crate) fn raw(spec: Spec) -> Vec<u8> {
        let [r, c] = spec.shape.map(usize::from);
        let mut out = Vec::new();
        let order: Vec<usize> = if spec.fortran {
            (0..c)
                .flat_map(|j| (0..r).map(move |i| i * c + j))
                .collect()
        } else {
            (0..r * c).collect()
        };
        for v in order {
            match (spec.f8, spec.big) {
                (false, false) => out.extend((v as f32).to_le_bytes()),
                (false, true) => out.extend((v as f32).to_be_bytes()),
                (true, false) => out.extend((v as f64).to_le_bytes()),
                (true, true) => out.extend((v as f64).to_be_bytes()),
            }
        }
        out
    }

    /// `pickle.dumps({"W1": arr}, protocol=p)` with numpy 1.x for p = 2, 3, or 4
    /// (`ndarray.__reduce__`: `_reconstruct(ndarray, (0,), b'b')`, then `BUILD` with
    /// `(1, shape, dtype, is_fortran, rawdata)`; the dtype is `dtype('f4', False, True)`
    /// with state `(3, '<', None, None, None, -1, -1, 0)`).
    pub(crate) fn reconstruct_pickle(protocol: u8, spec: Spec, numpy2: bool) -> Vec<u8> {
        let p4 = protocol >= 4;
        let module = if numpy2 {
            "numpy._core.multiarray"
        } else {
            "numpy.core.multiarray"
        };
        let mut p = P::default().proto(protocol);
        if p4 {
            p = p.op(&[0x95]).op(&0u64.to_le_bytes()); // FRAME (length hint)
        }
        p = p.op(b"}").op(b"(").text("W1", p4);
        p = if p4 {
            p.stack_global(module, "_reconstruct")
                .op(&[0x94])
                .stack_global("numpy", "ndarray")
        } else {
            p.global(module, "_reconstruct").global("numpy", "ndarray")
        };
        p = p.int(0).op(&[0x85]);
        // The third argument, b'b': SHORT_BINBYTES from protocol 3; protocol 2 has no bytes
        // opcode and writes _codecs.encode('b', 'latin1').
        p = if protocol == 2 {
            p.global("_codecs", "encode")
                .text("b", false)
                .text("latin1", false)
                .op(&[0x86, b'R'])
        } else {
            p.op(&[b'C', 1, b'b'])
        };
        p = p.op(&[0x87, b'R']).op(b"(").int(1);
        p = p.int(spec.shape[0]).int(spec.shape[1]).op(&[0x86]);
        p = if p4 {
            p.stack_global("numpy", "dtype")
        } else {
            p.global("numpy", "dtype")
        };
        p = p
            .text(if spec.f8 { "f8" } else { "f4" }, p4)
            .int(0)
            .int(1)
            .op(&[0x87, b'R']);
        p = p
            .op(b"(")
            .int(3)
            .text(if spec.big { ">" } else { "<" }, p4)
            .op(b"NNN")
            .op(b"J")
            .op(&(-1i32).to_le_bytes())
            .op(b"J")
            .op(&(-1i32).to_le_bytes())
            .int(0)
            .op(b"t")
            .op(b"b");
        p = p.op(&[if spec.fortran { 0x88 } else { 0x89 }]);
        let data = raw(spec);
        p = if protocol == 2 {
            let latin1: String = data.iter().map(|&b| char::from(b)).collect();
            p.global("_codecs", "encode")
                .text(&latin1, false)
                .text("latin1", false)
                .op(&[0x86, b'R'])
        } else {
            p.binbytes(&data)
        };
        p.op(b"t").op(b"b").op(b"u").op(b".").0
    }

    /// `pickle.dumps({"W1": arr}, protocol=5)` with numpy ≥ 1.16: `ndarray.__reduce_ex__(5)`
    /// gives `_frombuffer(PickleBuffer(arr), dtype, shape, order)`, written in-band as
    /// BYTEARRAY8, the four arguments between MARK and TUPLE, MEMOIZE after each object.
    pub(crate) fn frombuffer_pickle(spec: Spec, numpy2: bool) -> Vec<u8> {
        let data = raw(spec);
        let module = if numpy2 {
            "numpy._core.numeric"
        } else {
            "numpy.core.numeric"
        };
        P::default()
            .proto(5)
            .op(&[0x95])
            .op(&0u64.to_le_bytes())
            .op(&[b'}', 0x94])
            .text("W1", true)
            .op(&[0x94])
            .stack_global(module, "_frombuffer")
            .op(&[0x94, b'(', 0x96])
            .op(&(data.len() as u64).to_le_bytes())
            .op(&data)
            .op(&[0x94])
            .stack_global("numpy", "dtype")
            .op(&[0x94])
            .text(if spec.f8 { "f8" } else { "f4" }, true)
            .op(&[0x94, 0x89, 0x88, 0x87, 0x94, b'R', 0x94, b'('])
            .int(3)
            .text(if spec.big { ">" } else { "<" }, true)
            .op(&[0x94])
            .op(b"NNN")
            .op(b"J")
            .op(&(-1i32).to_le_bytes())
            .op(b"J")
            .op(&(-1i32).to_le_bytes())
            .int(0)
            .op(&[b't', 0x94, b'b'])
            .int(spec.shape[0])
            .int(spec.shape[1])
            .op(&[0x86, 0x94])
            .text(if spec.fortran { "F" } else { "C" }, true)
            .op(&[0x94, b't', 0x94, b'R', 0x94, b's', b'.'])
            .0
    }

    /// `pickle.dumps({name: np.array(values, np.float32).reshape(shape), …}, protocol=3)`
    /// with numpy 1.x, for any number of C-order little-endian float32 arrays.
    pub(crate) fn dict_pickle(arrays: &[(&str, &[usize], &[f32])]) -> Vec<u8> {
        let mut p = P::default().proto(3).op(b"}").op(b"(");
        for (name, shape, values) in arrays {
            p = p
                .text(name, false)
                .global("numpy.core.multiarray", "_reconstruct")
                .global("numpy", "ndarray")
                .int(0)
                .op(&[0x85, b'C', 1, b'b', 0x87, b'R', b'('])
                .int(1)
                .op(b"(");
            for &d in shape.iter() {
                p = p.op(b"J").op(&(d as i32).to_le_bytes());
            }
            p = p
                .op(b"t")
                .global("numpy", "dtype")
                .text("f4", false)
                .int(0)
                .int(1)
                .op(&[0x87, b'R', b'('])
                .int(3)
                .text("<", false)
                .op(b"NNNJ")
                .op(&(-1i32).to_le_bytes())
                .op(b"J")
                .op(&(-1i32).to_le_bytes())
                .int(0)
                .op(b"tb")
                .op(&[0x89]);
            let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            p = p.binbytes(&data).op(b"tb");
        }
        p.op(b"u.").0
    }

    fn check(bytes: &[u8]) {
        let d = read_arrays(bytes).unwrap_or_else(|e| panic!("{e}"));
        let w = d.get("W1").expect("W1");
        assert_eq!(w.shape, [2, 3]);
        assert_eq!(w.data, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    pub(crate) fn all_specs() -> impl Iterator<Item = Spec> {
        (0..8).map(|k| Spec {
            shape: [2, 3],
            f8: k & 1 != 0,
            big: k & 2 != 0,
            fortran: k & 4 != 0,
        })
    }

    #[test]
    fn protocols_2_3_4_with_every_dtype_endianness_and_order() {
        for protocol in [2, 3, 4] {
            for spec in all_specs() {
                check(&reconstruct_pickle(protocol, spec, false));
            }
        }
    }

    #[test]
    fn numpy_2_module_paths() {
        for spec in all_specs() {
            check(&reconstruct_pickle(4, spec, true));
        }
    }

    #[test]
    fn protocol_5_frombuffer() {
        for spec in all_specs() {
            check(&frombuffer_pickle(spec, false));
            check(&frombuffer_pickle(spec, true));
        }
    }

    #[test]
    fn ordered_dict_and_extra_values() {
        // pickle.dumps(OrderedDict(W1=arr, note="x"), protocol=3) replaces the EMPTY_DICT with
        // `collections.OrderedDict` REDUCE `()`, and SETITEMS fill it.
        let mut b = reconstruct_pickle(3, all_specs().next().unwrap(), false);
        assert_eq!(&b[2..3], b"}");
        let head = P::default()
            .global("collections", "OrderedDict")
            .op(b")R")
            .0;
        b.splice(2..3, head);
        let end = b.len() - 2; // before SETITEMS
        let extra = P::default().text("note", false).text("x", false).0;
        b.splice(end..end, extra);
        let d = read_arrays(&b).unwrap();
        assert_eq!(d.arrays.len(), 1);
        assert_eq!(d.other_keys, ["note"]);
    }

    #[test]
    fn forbidden_globals_are_refused_and_nothing_runs() {
        for (module, name) in [
            ("os", "system"),
            ("builtins", "eval"),
            ("subprocess", "Popen"),
            ("posix", "system"),
        ] {
            // pickle.dumps of an object whose __reduce__ returns (os.system, ("touch x",)).
            let b = P::default()
                .proto(2)
                .global(module, name)
                .text("touch /tmp/scratchnet-pwned", false)
                .op(&[0x85, b'R', b'.'])
                .0;
            assert_eq!(
                read_arrays(&b).unwrap_err(),
                PickleError::ForbiddenGlobal {
                    module: module.into(),
                    name: name.into()
                }
            );
            let b4 = P::default()
                .proto(4)
                .stack_global(module, name)
                .op(b")R.")
                .0;
            assert!(matches!(
                read_arrays(&b4),
                Err(PickleError::ForbiddenGlobal { .. })
            ));
        }
        assert!(!std::path::Path::new("/tmp/scratchnet-pwned").exists());
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        let b = reconstruct_pickle(3, all_specs().next().unwrap(), false);
        for n in 0..b.len() {
            assert!(read_arrays(&b[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn huge_declared_lengths_are_refused_before_allocating() {
        let b = P::default()
            .proto(4)
            .op(&[0x8e])
            .op(&u64::MAX.to_le_bytes())
            .op(b"abc")
            .0;
        assert_eq!(
            read_arrays(&b).unwrap_err(),
            PickleError::LengthTooLarge {
                at: 2,
                declared: u64::MAX,
                available: 3
            }
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut p = P::default().proto(2).op(b")");
        for _ in 0..100_000 {
            p = p.op(&[0x85]);
        }
        assert_eq!(
            read_arrays(&p.op(b".").0).unwrap_err(),
            PickleError::TooDeep
        );
        let mut p = P::default().proto(2);
        for _ in 0..100_000 {
            p = p.op(b"]");
        }
        for _ in 0..100_000 {
            p = p.op(b"a");
        }
        assert_eq!(
            read_arrays(&p.op(b".").0).unwrap_err(),
            PickleError::TooDeep
        );
    }

    /// Found by fuzzing (LeakSanitizer): a dict put inside itself (`DUP`, then `SETITEM`)
    /// made a reference cycle that was never freed. The machine now empties every
    /// container when it is dropped; this stream must be read (it is no dict of arrays)
    /// without a panic, and the cycle must not outlive the call.
    #[test]
    fn fuzz_regression_self_containing_dict() {
        let stream: &[u8] = &[
            128, 4, 149, 91, 1, 0, 0, 0, 0, 0, 0, 125, 148, 50, 50, 50, 50, 50, 50, 50, 50, 50, 48,
            48, 48, 128, 3, 125, 115, 3, 125, 113, 0, 40, 88, 2, 0, 0, 0, 50, 57, 56, 56, 57, 51,
            110, 0, 2, 87, 49, 148, 140, 5, 110, 117, 109, 112, 121, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0,
        ];
        assert!(read_arrays(stream).is_err());
        // A dict that holds itself, read to the end: its memory is given back.
        let cycle = P::default()
            .proto(2)
            .op(b"}")
            .op(b"2")
            .op(b"2")
            .op(b"s")
            .op(b".")
            .0;
        let weak = {
            let mut m = Machine {
                data: &cycle,
                pos: 0,
                at: 0,
                stack: Vec::new(),
                memo: HashMap::new(),
                lists: Vec::new(),
                dicts: Vec::new(),
            };
            let top = m.run().unwrap();
            let Value::Dict(d, _) = &top else {
                panic!("a dict")
            };
            assert_eq!(d.borrow().len(), 1);
            Rc::downgrade(d)
        };
        assert!(weak.upgrade().is_none(), "the self-containing dict leaked");
    }

    #[test]
    fn other_malformations() {
        let not_dict = P::default().proto(2).op(b"]").op(b".").0;
        assert_eq!(
            read_arrays(&not_dict).unwrap_err(),
            PickleError::NotADict { found: "a list" }
        );
        let underflow = P::default().proto(2).op(b"R").0;
        assert!(matches!(
            read_arrays(&underflow),
            Err(PickleError::Malformed { .. })
        ));
        let inst = P::default().proto(2).op(b"(io\nx\n").0;
        assert!(matches!(
            read_arrays(&inst),
            Err(PickleError::UnsupportedOpcode { op: b'i', .. })
        ));
        let missing_memo = P::default().proto(2).op(b"h\x05").0;
        assert!(matches!(
            read_arrays(&missing_memo),
            Err(PickleError::Malformed { .. })
        ));
        let no_stop = P::default().proto(2).op(b"}").0;
        assert!(matches!(
            read_arrays(&no_stop),
            Err(PickleError::Truncated { .. })
        ));
    }

    #[test]
    fn nan_and_unsupported_dtypes_are_named() {
        let spec = all_specs().next().unwrap();
        let mut b = reconstruct_pickle(3, spec, false);
        let data = raw(spec);
        let at = b.windows(data.len()).position(|w| w == data).unwrap();
        b[at + 8..at + 12].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(
            read_arrays(&b).unwrap_err(),
            PickleError::NotFinite {
                name: "W1".into(),
                index: 2
            }
        );
        let mut b = reconstruct_pickle(3, spec, false);
        let at = b.windows(2).position(|w| w == b"f4").unwrap();
        b[at] = b'i';
        let e = read_arrays(&b).unwrap_err();
        assert!(e.to_string().contains("dtype 'i4' is not supported"), "{e}");
    }
}

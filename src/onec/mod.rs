//! Everything that knows 1C:Enterprise: finding the installed platform
//! (`1cv8`, `ibcmd`), running a Designer or `ibcmd` dump under a timeout,
//! decoding and explaining the Designer's `/Out` log, telling whether a file
//! base is in use, and checking `.1CD` / `.dt` files without 1C.

pub mod files;

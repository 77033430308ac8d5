//! Windows process trees for [`super`]: the child is assigned to a Job Object
//! created with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`; `TerminateJobObject`
//! kills every process in it, and closing the handle kills any leftovers.
//! (A process the child starts before it is assigned escapes the job; 1C's
//! Designer starts nothing that early.)

use std::io;
use std::os::windows::io::AsRawHandle;
use std::process::{Child, Command};
use std::ptr;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject,
};

/// Nothing to set up before spawning: the job is attached right after.
pub fn prepare(_cmd: &mut Command) {}

/// A Job Object holding the child and everything it starts.
pub struct Tree {
    job: HANDLE,
}

// SAFETY: a job handle is a kernel handle usable from any thread.
unsafe impl Send for Tree {}

impl Tree {
    pub fn attach(child: &Child) -> io::Result<Self> {
        // SAFETY: null security attributes and name are allowed.
        let job = unsafe { CreateJobObjectW(ptr::null(), ptr::null()) };
        if job.is_null() {
            return Err(io::Error::last_os_error());
        }
        let tree = Self { job };
        // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is valid.
        let mut info: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: `info` is a live struct of the size passed.
        let ok = unsafe {
            SetInformationJobObject(
                tree.job,
                JobObjectExtendedLimitInformation,
                (&raw const info).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both handles are valid for the duration of the call.
        let ok = unsafe { AssignProcessToJobObject(tree.job, child.as_raw_handle() as HANDLE) };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(tree)
    }

    pub fn kill(&self, _child: &Child) -> io::Result<()> {
        // SAFETY: `job` is a valid job handle owned by self.
        if unsafe { TerminateJobObject(self.job, 1) } == 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        // SAFETY: `job` is owned by self and closed exactly once.
        unsafe { CloseHandle(self.job) };
    }
}

/*
 * Test fixture for the Wine smoke run (scripts/wine-smoke.sh), not shipped.
 *
 * Rust's standard library (since 1.78) imports ProcessPrng from
 * bcryptprimitives.dll, which real Windows 10/11 and Server 2016+ have but
 * Wine 8 lacks: without it the .exe does not load under Wine at all. This
 * DLL, placed next to the .exe, provides the one function by forwarding to
 * BCryptGenRandom (which Wine has).
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* BCryptGenRandom takes a ULONG length: fill larger requests in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

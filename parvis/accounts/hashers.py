"""The password hasher: Argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane), not Django's
default (100 MiB, 2 passes, 8 lanes). Measured on the 2-core benchmark machine (issue 23): a
hash costs about 24 ms of CPU and 19 MiB here, against 230 ms and 100 MiB with the default —
at the opening of registrations 200 families log in within a minute, and the default made two
cores do 7 to 8 logins a second and nothing else. The algorithm keeps Django's name « argon2 »,
so hashes made with the default parameters are checked by this class and rewritten with these
at the next successful login (Django's must_update compares the parameters)."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class ParvisArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1


def login_cost(*, rounds: int = 5) -> dict[str, float]:
    """CPU milliseconds and memory (MiB) of one password check with the configured hasher,
    the median of `rounds`: printed by make bench-load."""
    import statistics
    import time

    from django.contrib.auth.hashers import check_password, get_hasher, make_password

    hasher = get_hasher()
    encoded = make_password("une phrase de passe assez longue", hasher=hasher.algorithm)
    spent = []
    for _ in range(rounds):
        started = time.process_time()
        check_password("une phrase de passe assez longue", encoded)
        spent.append((time.process_time() - started) * 1000)
    memory = getattr(hasher, "memory_cost", 0) / 1024
    return {"cpu_ms": statistics.median(spent), "memory_mib": memory}

"""kernels.compile: one source compiled per target, specialised by rebinding globals by name."""
from kernels.compile import device


@device
def field(x):
    """A placeholder the drivers rebind (as kernels.lorenz.integrate's ``field``)."""
    return 0.0


@device
def doubled(x):
    return 2.0 * x


@device
def generic_step(x):
    return field(x) + 1.0


@device
def other_step(x):
    return field(x) + 10.0


@device
def driver(x):
    return generic_step(x)


def test_an_override_is_specialised_by_the_other_overrides_it_reaches():
    # a step bound in place of another still sees the field bound beside it (kernels.lorenz.integrate binds
    # the generic RK4 or a system's own, with the system's field)
    assert driver.compile("cpu", field=doubled)(3.0) == 7.0
    assert driver.compile("cpu", field=doubled, generic_step=other_step)(3.0) == 16.0
    assert driver.compile("cpu", field=doubled, generic_step=generic_step)(3.0) == 7.0


def test_the_fingerprint_tells_the_specialisations_apart():
    prints = {driver.fingerprint(), driver.fingerprint(field=doubled), driver.fingerprint(generic_step=other_step),
              driver.fingerprint(field=doubled, generic_step=other_step)}
    assert len(prints) == 4

"""placeholder"""
def server_side_apply(*a, **k): raise NotImplementedError  # type: ignore
def update_managed_fields(*a, **k): raise NotImplementedError  # type: ignore
def default_manager(*a, **k): raise NotImplementedError  # type: ignore
def validate_patch_options(*a, **k): raise NotImplementedError  # type: ignore

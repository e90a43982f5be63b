"""podbay.runtime"""

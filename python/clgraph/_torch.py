"""from_torch: a PyTorch module exported through torch.onnx into a session."""
import io

from ._session import InferenceSession


def from_torch(module, example_inputs, dynamic_axes=None, *, input_names=None, output_names=None,
               opset_version=17, **session_kwargs):
    """Exports module (in eval mode) with torch.onnx.export to memory and
    opens an InferenceSession on the model.

    example_inputs: a tensor or a tuple of tensors, as torch.onnx.export
    takes. Inputs are named 'input' (one) or 'input_0', 'input_1', ...;
    outputs 'output' or 'output_0', ... unless input_names/output_names say
    otherwise. dynamic_axes: as torch.onnx.export's, e.g. {'input': {0: 'N',
    1: 'S'}}; without it every size is fixed to the example's. A dynamic
    first axis is clgraph's batch N whatever it is called. opset_version: 9
    to 17 (clgraph imports those). session_kwargs go to InferenceSession
    (device, opt_level, ...). torch is imported only here.
    """
    import torch  # not a dependency of the package: needed only here

    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    else:
        example_inputs = tuple(example_inputs)
    if input_names is None:
        input_names = ['input'] if len(example_inputs) == 1 else ['input_%d' % i for i in range(len(example_inputs))]
    if output_names is None:
        with torch.no_grad():
            was_training = module.training
            module.eval()
            try:
                out = module(*example_inputs)
            finally:
                module.train(was_training)
        n_out = 1 if isinstance(out, torch.Tensor) else len(out)
        output_names = ['output'] if n_out == 1 else ['output_%d' % i for i in range(n_out)]
    buf = io.BytesIO()
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(module, example_inputs, buf, input_names=list(input_names),
                              output_names=list(output_names), dynamic_axes=dynamic_axes,
                              opset_version=opset_version, do_constant_folding=True)
    finally:
        module.train(was_training)
    return InferenceSession(buf.getvalue(), **session_kwargs)

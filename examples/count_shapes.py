# How many red shapes are there, and which of them is nearest to the camera?
def execute_command(image):
    # Step 1: find every shape in the image
    image_patch = ImagePatch(image)
    shapes = image_patch.find("shape")
    # Step 2: keep the red ones
    red_shapes = [shape for shape in shapes if shape.verify_property("shape", "red")]
    # Step 3: order them from near to far
    red_shapes.sort(key=lambda shape: shape.compute_depth())
    # Step 4: describe the nearest one
    if len(red_shapes) == 0:
        return "no red shapes"
    nearest = red_shapes[0]
    kind = nearest.simple_query("What shape is this?")
    return f"{len(red_shapes)} red shape(s); the nearest is a {kind}"

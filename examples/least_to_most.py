# SVIP least-to-most style: a script whose steps print the answer before "Work is Done!".
# Step 1: look at the whole image and find the circles
image_patch = ImagePatch(image)
circles = image_patch.find("circle")
# Step 2: count the circles that are left of the image centre
left = [c for c in circles if c.horizontal_center < image_patch.horizontal_center]
# Step 3: answer
answer = bool_to_yesno(len(left) > 0)
print(answer)
print("Work is Done!")
